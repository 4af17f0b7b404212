"""The one parser of numeric inputs (YAML fields and CLI flags alike) and the allowed range of
every chip and system field.

Every number a user can give goes through :func:`number`: booleans (YAML ``true``), NaN,
infinities, values outside the field's physical range and, for counts, non-integers or
integers past 2^31 (JAX's int32) are a :class:`~codesign.errors.ConfigError` naming the
field, the value and what is allowed, never a traceback or a silently wrong evaluation.
"""
import dataclasses
import math

from ..errors import ConfigError

INT32_MAX = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Range:
    """Allowed values: ``lo`` (excluded when ``lo_open``) to ``hi`` (included), finite;
    ``integer`` for counts."""

    lo: float = 0.0
    hi: float = math.inf
    lo_open: bool = False
    integer: bool = False

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a finite number"
        lo, hi = (f"{v:.0f}" if self.integer else f"{v:g}" for v in (self.lo, self.hi))
        if self.hi < math.inf:
            return f"{kind} in {'(' if self.lo_open else '['}{lo}, {hi}]"
        return f"{kind} {'>' if self.lo_open else '>='} {lo}"

    def contains(self, x: float) -> bool:
        above = x > self.lo if self.lo_open else x >= self.lo
        return math.isfinite(x) and above and x <= self.hi and (not self.integer or x == int(x))


NONNEGATIVE = Range()
POSITIVE = Range(lo_open=True)
FRACTION = Range(0.0, 1.0, lo_open=True)  # (0, 1]: efficiencies, utilization
COUNT = Range(1, INT32_MAX, integer=True)  # chips, tp, batch, tokens, ...
SEED = Range(0, INT32_MAX, integer=True)

#: Physical range of each chip field (others: finite and >= 0; 0 flops = format unsupported).
CHIP_RANGES = {
    "compute_efficiency": FRACTION, "memory_efficiency": FRACTION,
    "clock_hz": POSITIVE, "reference_clock_hz": POSITIVE,
    "link_bw_bytes_per_s": POSITIVE, "tdp_w": POSITIVE, "power_cap_w": POSITIVE,
    "die_area_fixed_mm2": POSITIVE, "sram_mb_per_mm2": POSITIVE, "reticle_mm2": POSITIVE,
    "yield_cluster_alpha": POSITIVE, "build_margin": POSITIVE, "reference_build_cost_usd": POSITIVE,
    "vector_ops_per_s": POSITIVE, "matrix_load_bytes_per_s": POSITIVE,
    "matrix_tile_rows": Range(1.0, 4096.0),
}
#: Physical range of each system field (others: finite and >= 0).
SYSTEM_RANGES = {
    "chips_per_node": COUNT, "nodes_per_rack": COUNT,
    "inter_node_bw_bytes_per_s": POSITIVE,
    "pue": Range(1.0),  # facility power / IT power: never below 1
    "lifetime_years": POSITIVE, "utilization": FRACTION,
}
_RANGES = {"Chip": CHIP_RANGES, "System": SYSTEM_RANGES}


def field_range(spec, field: str) -> Range:
    """Allowed range of ``field`` of a spec class or instance (Chip, System; others >= 0)."""
    cls = spec if isinstance(spec, type) else type(spec)
    return _RANGES.get(cls.__name__, {}).get(field, NONNEGATIVE)


def number(name: str, value, allowed: Range = NONNEGATIVE) -> float:
    """``value`` as a float in ``allowed``; a numeric string ("1e9": YAML 1.1 reads it as text,
    and flags arrive as text) is parsed.

    Raises:
        ConfigError: ``name = value; allowed: ...`` for a boolean, non-number, NaN, infinity,
            value out of range or (integer ranges) fraction.
    """
    x = math.nan
    if isinstance(value, str):
        try:
            x = float(value.strip())
        except ValueError:
            pass
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            x = float(value)
        except OverflowError:  # an int past 1e308
            x = math.inf
    if not allowed.contains(x):
        raise ConfigError(f"{name} = {value!r}; allowed: {allowed.describe()}")
    return x


def integer(name: str, value, allowed: Range = COUNT) -> int:
    """:func:`number` for a count: an int in ``allowed`` (default 1 .. 2^31 - 1)."""
    return int(number(name, value, dataclasses.replace(allowed, integer=True)))


def check_spec(spec, where: str):
    """Every numeric field of ``spec`` (a Chip or System of host floats) in its range."""
    for f in dataclasses.fields(spec):
        if not f.metadata.get("static"):
            number(f"{where}.{f.name}", float(getattr(spec, f.name)), field_range(spec, f.name))
