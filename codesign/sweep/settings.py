"""The ``sweep:`` block of an experiment config: what to enumerate and what to reduce.

Everything here changes the results of a sweep, so all of it is part of a sweep's identity
(see ``store.identity``); a resumed sweep must use the same settings.
"""
import dataclasses

from ..errors import ConfigError
from ..objectives import check_metric

MODES = ("grid", "random")
#: Keys of the ``sweep:`` block.
SWEEP_KEYS = ("mode", "samples", "seed", "chunk", "top_k", "top_k_metrics", "pareto", "histogram",
              "pareto_capacity")
_HIST_KEYS = ("bins_per_octave", "min_exp2", "max_exp2")
DEFAULT_CHUNK = 1 << 15  # CPU: a block of rows stays in cache; accelerators want 2**20+
MAX_CHUNK = 1 << 26


@dataclasses.dataclass(frozen=True)
class SweepSettings:
    """How a sweep enumerates and reduces its design space.

    Attributes:
        mode: ``"grid"`` (every grid point of every variant) or ``"random"`` (``samples``
            seeded points per variant from the one random distribution of
            :meth:`codesign.space.codec.Codec.sample`: uniform in the codec's unit
            coordinates, log-scaled where it searches in log space, rounded to allowed
            values; random search draws the same points).
        samples: points per variant in random mode.
        seed: random-mode seed, 0 <= seed < 2**31.
        chunk: points per compiled step (all devices together).
        top_k: designs kept per ranked quantity.
        top_k_metrics: ranked quantities: ``"objective"`` and/or metric names (each in its own
            better direction). Empty: the objective and the Pareto metrics.
        pareto: metrics of the Pareto front (empty: the problem's ``pareto:``; none: no front).
        bins_per_octave, min_exp2, max_exp2: histogram bins of every metric: ``bins_per_octave``
            bins per factor of 2 over [2**min_exp2, 2**max_exp2), plus under/overflow and NaN.
        pareto_capacity: front candidates one device returns per step before falling back to
            an exact (slower) pass over the step.
    """

    mode: str = "grid"
    samples: int = 1_000_000
    seed: int = 0
    chunk: int = DEFAULT_CHUNK
    top_k: int = 16
    top_k_metrics: tuple[str, ...] = ()
    pareto: tuple[str, ...] = ()
    bins_per_octave: int = 4
    min_exp2: int = -40
    max_exp2: int = 64
    pareto_capacity: int = 256

    def to_dict(self) -> dict:
        """A ``sweep:`` block that parses back to these settings."""
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}
        d["histogram"] = {k: d.pop(k) for k in _HIST_KEYS}
        return d


def _int(where, value, lo, hi=None):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        allowed = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
        raise ConfigError(f"{where} = {value!r}; allowed: {allowed}")
    return value


def _metrics(where, value, extra=()):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: expected a list of metric names, got {value!r}")
    return tuple(v if v in extra else check_metric(str(v), where) for v in value)


def parse_settings(block, problem_pareto=()) -> SweepSettings:
    """Validate a ``sweep:`` block (None for all defaults)."""
    block = {} if block is None else block
    if not isinstance(block, dict):
        raise ConfigError(f"sweep: expected a mapping of {', '.join(SWEEP_KEYS)}, got {block!r}")
    unknown = sorted(set(block) - set(SWEEP_KEYS))
    if unknown:
        raise ConfigError(f"sweep: unknown key {unknown[0]!r}; allowed keys: {', '.join(SWEEP_KEYS)}")
    out = {}
    if "mode" in block:
        if block["mode"] not in MODES:
            raise ConfigError(f"sweep.mode = {block['mode']!r}; allowed: {', '.join(MODES)}")
        out["mode"] = block["mode"]
    if "samples" in block:
        out["samples"] = _int("sweep.samples", block["samples"], 1)
    if "seed" in block:
        out["seed"] = _int("sweep.seed", block["seed"], 0, 2**31 - 1)
    if "chunk" in block:
        out["chunk"] = _int("sweep.chunk", block["chunk"], 1, MAX_CHUNK)
    if "top_k" in block:
        out["top_k"] = _int("sweep.top_k", block["top_k"], 1, 4096)
    if "top_k_metrics" in block:
        out["top_k_metrics"] = _metrics("sweep.top_k_metrics", block["top_k_metrics"], ("objective",))
    out["pareto"] = tuple(problem_pareto)
    if "pareto" in block:
        out["pareto"] = _metrics("sweep.pareto", block["pareto"] or [])
    if out["pareto"] and len(out["pareto"]) < 2:
        raise ConfigError(f"sweep.pareto = {list(out['pareto'])}; allowed: two or more metrics (or [] for none)")
    if "pareto_capacity" in block:
        out["pareto_capacity"] = _int("sweep.pareto_capacity", block["pareto_capacity"], 1, 1 << 16)
    hist = block.get("histogram", {}) or {}
    if not isinstance(hist, dict) or set(hist) - set(_HIST_KEYS):
        raise ConfigError(f"sweep.histogram: expected a mapping with keys {', '.join(_HIST_KEYS)}, got {hist!r}")
    if "bins_per_octave" in hist:
        bpo = _int("sweep.histogram.bins_per_octave", hist["bins_per_octave"], 1, 64)
        if bpo & (bpo - 1):
            raise ConfigError(f"sweep.histogram.bins_per_octave = {bpo}; allowed: a power of 2 (1, 2, 4, ..., 64)")
        out["bins_per_octave"] = bpo
    for key in ("min_exp2", "max_exp2"):
        if key in hist:
            out[key] = _int(f"sweep.histogram.{key}", hist[key], -126, 127)
    s = SweepSettings(**out)
    if s.min_exp2 >= s.max_exp2:
        raise ConfigError(f"sweep.histogram: min_exp2 = {s.min_exp2} >= max_exp2 = {s.max_exp2}; need min < max")
    return s
