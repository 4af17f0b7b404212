"""The batch a deployment serves at, picked by a rule on top of the serving operating points
of :mod:`codesign.model.serving`.

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

from ..errors import ConfigError
from ..model.serving import at_concurrency_jit, offline_jit, server_jit
from ..specs import Chip, Mapping, Scenario, System, Workload

BATCH_RULES = ("fixed", "max", "min_speed")


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


def operating_point(chip: Chip, system: System, w: Workload, tp: float, pp: float, sc: Scenario,
                    rule: BatchRule, where: str = "batch") -> dict[str, float]:
    """Exact metrics (``{metric: float}``) at the batch ``rule`` picks for a tp x pp mapping."""
    m = Mapping(tp=float(tp), pp=float(pp), ep=1.0, dp=1.0, batch=1.0)
    largest = offline_jit(chip, system, w, m, sc)
    if not float(largest.feasible) > 0:
        raise ConfigError(f"{where}: not even one sequence fits in memory at this mapping; "
                          "allowed: more chips (tp x pp) or a shorter scenario")
    if rule.kind == "max":
        return largest.metrics.to_dict()
    if rule.kind == "fixed":
        top = int(largest.batch)
        if rule.value != int(rule.value) or not 1 <= rule.value <= top:
            raise ConfigError(f"{where} = {rule.value:g} does not fit; allowed: an integer in 1..{top}")
        return at_concurrency_jit(chip, system, w, m, sc, float(rule.value)).metrics.to_dict()
    point = server_jit(chip, system, w, m, sc, 1.0 / rule.value)
    if not float(point.feasible) > 0:
        one = at_concurrency_jit(chip, system, w, m, sc, 1.0).metrics.decode_tokens_per_s_per_user
        raise ConfigError(f"{where}: min_tokens_per_s_per_user = {rule.value:g} is out of reach; "
                          f"allowed: <= {float(one):.4g} (batch 1 speed at this mapping)")
    return point.metrics.to_dict()
