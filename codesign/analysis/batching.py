"""The batch a deployment serves at: every integer batch from 1 up to what memory allows is
evaluated in one vmapped call, then a rule picks one.

Rules (``BatchRule.kind``):

* ``"fixed"``: batch = ``value``; it must fit.
* ``"max"``: the largest batch whose weights + KV cache + activations fit every chip,
  :math:`B^* = \\max\\{B : \\mathrm{fits}(B)\\}`. On a pipelined machine this is the
  concurrency the memory allows; on a GPU, the batch of highest throughput.
* ``"min_speed"``: the largest batch that fits and still gives every user at least ``value``
  output tokens/s, :math:`\\max\\{B : \\mathrm{fits}(B),\\ 1 / t_{\\mathrm{token}}(B) \\ge v\\}`.

Bad requests (nothing fits, a fixed batch that overflows, an unreachable speed) raise
:class:`~codesign.errors.ConfigError` naming the value and what is possible.
"""
import dataclasses

import jax
import numpy as np

from ..errors import ConfigError
from ..model import EXACT, METRIC_NAMES, evaluate
from ..model.memory import memory_use
from ..specs import Chip, Mapping, Scenario, System, Workload

BATCH_RULES = ("fixed", "max", "min_speed")

#: Metrics of many mappings (leading axis) of one (chip, system, workload, scenario).
_sweep = jax.jit(jax.vmap(evaluate, in_axes=(None, None, None, 0, None)))


@dataclasses.dataclass(frozen=True)
class BatchRule:
    """How to choose the batch: ``kind`` in BATCH_RULES; ``value`` is the batch (fixed) or
    the per-user speed floor in tokens/s (min_speed)."""

    kind: str
    value: float = 0.0

    def __post_init__(self):
        if self.kind not in BATCH_RULES:
            raise ValueError(f"batch rule {self.kind!r}; allowed: {', '.join(BATCH_RULES)}")

    def describe(self) -> str:
        if self.kind == "fixed":
            return f"batch {self.value:g}"
        if self.kind == "max":
            return "largest batch that fits"
        return f"largest batch with >= {self.value:g} tokens/s per user"


def memory_batch_bound(chip: Chip, w: Workload, tp: float, pp: float, sc: Scenario) -> int:
    """Largest batch whose KV cache fits next to the weights and a batch-1 working set: an
    upper bound on every fitting batch (activations only grow with the batch)."""
    m = Mapping(tp=tp, pp=pp, ep=1.0, dp=1.0, batch=1.0)
    return int(memory_use(EXACT, chip, w, m, sc).max_batch)


def sweep_batches(chip: Chip, system: System, w: Workload, tp: float, pp: float, sc: Scenario,
                  n: int) -> dict[str, np.ndarray]:
    """Exact metrics at batch 1, 2, ..., n' (n' = n rounded up to a power of two >= 8, so
    that sweeps of similar size share one compiled program): ``{metric: array[n']}``."""
    size = max(8, 1 << max(int(n) - 1, 0).bit_length())
    batch = np.arange(1.0, size + 1.0, dtype=np.float32)
    full = lambda x: np.full(size, x, np.float32)
    m = Mapping(tp=full(tp), pp=full(pp), ep=full(1.0), dp=full(1.0), batch=batch)
    out = _sweep(chip, system, w, m, sc)
    return {k: np.asarray(getattr(out, k)) for k in METRIC_NAMES}


def choose_batch(sweep: dict[str, np.ndarray], rule: BatchRule, where: str = "batch") -> int:
    """Index into ``sweep`` (= batch - 1) chosen by ``rule``."""
    fits = sweep["fits"] > 0
    if not fits.any():
        raise ConfigError(f"{where}: not even one sequence fits in memory at this mapping; "
                          "allowed: more chips (tp x pp) or a shorter scenario")
    largest = int(np.nonzero(fits)[0].max())
    if rule.kind == "max":
        return largest
    if rule.kind == "fixed":
        i = int(rule.value) - 1
        if rule.value != int(rule.value) or i < 0 or i > largest:
            raise ConfigError(f"{where} = {rule.value:g} does not fit; allowed: an integer in 1..{largest + 1}")
        return i
    speed = sweep["decode_tokens_per_s_per_user"]
    ok = fits & (speed >= rule.value)
    if not ok.any():
        raise ConfigError(f"{where}: min_tokens_per_s_per_user = {rule.value:g} is out of reach; "
                          f"allowed: <= {float(speed[0]):.4g} (batch 1 speed at this mapping)")
    return int(np.nonzero(ok)[0].max())


def pick(sweep: dict[str, np.ndarray], i: int) -> dict[str, float]:
    """Metrics of sweep entry ``i`` as Python floats."""
    return {k: float(v[i]) for k, v in sweep.items()}
