"""Design variables: continuous, integer and categorical, and their grids.

A variable names a spec field by path: ``chip.sram_bytes``, ``system.chips_per_node``,
``mapping.tp``, ``scenario.prompt_tokens``. Categorical variables may also switch a whole
preset (``hardware``, ``model``) or a static field (``workload.weight_dtype``,
``workload.kv_dtype``, ``chip.memory_kind``); each combination compiles once.
"""
import dataclasses
import math

import numpy as np

from ..errors import ConfigError

KINDS = ("continuous", "integer", "categorical")
#: Categorical variables that select presets or static (code-path) fields.
STATIC_PATHS = ("hardware", "model", "workload.weight_dtype", "workload.kv_dtype", "chip.memory_kind",
                "chip.pp_split", "chip.price_mode", "system.intra_topology")
DEFAULT_GRID_POINTS = 16


@dataclasses.dataclass(frozen=True)
class Variable:
    """One searchable quantity.

    Attributes:
        path: ``"spec.field"`` or a static path from STATIC_PATHS.
        kind: ``"continuous"``, ``"integer"`` or ``"categorical"``.
        low, high: inclusive bounds (continuous, integer ranges).
        log: search and grid in log space (positive bounds only).
        choices: allowed values (integer choices, sorted; or categorical values).
        num: grid points for a continuous variable.
    """

    path: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple | None = None
    num: int = DEFAULT_GRID_POINTS

    @property
    def is_static(self) -> bool:
        return self.kind == "categorical"

    def grid_values(self) -> np.ndarray | tuple:
        """The values an exhaustive grid visits."""
        if self.choices is not None:
            return self.choices if self.is_static else np.asarray(self.choices, float)
        if self.kind == "integer":
            if self.log:
                raw = np.unique(np.round(np.geomspace(self.low, self.high, self.num)))
                return raw.astype(float)
            return np.arange(self.low, self.high + 1, dtype=float)
        space = np.geomspace if self.log else np.linspace
        return space(self.low, self.high, self.num)

    @property
    def size(self) -> int:
        return len(self.grid_values())


def parse_variable(path: str, spec) -> Variable:
    """Parse one ``space:`` entry of a config, naming the problem precisely."""
    where = f"space.{path}"
    if isinstance(spec, list):
        spec = {"choices": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected {{min, max[, log, integer, num]}} or a list of choices, got {spec!r}")
    allowed = {"min", "max", "log", "integer", "num", "choices"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(allowed))}")
    for key in ("log", "integer"):
        if not isinstance(spec.get(key, False), bool):
            raise ConfigError(f"{where}.{key} = {spec[key]!r}; allowed: true or false")
    for key in ("min", "max", "num"):
        if isinstance(spec.get(key), bool):  # YAML `true` is not the number 1
            raise ConfigError(f"{where}.{key} = {spec[key]!r}; allowed: a number")
    log = spec.get("log", False)
    if path in STATIC_PATHS:
        choices = spec.get("choices")
        if not choices:
            raise ConfigError(f"{where}: a categorical variable needs a non-empty list of choices")
        return Variable(path, "categorical", choices=tuple(choices))
    if "choices" in spec:
        choices = spec["choices"]
        try:
            if not isinstance(choices, (list, tuple)) or any(isinstance(c, bool) for c in choices):
                raise TypeError
            vals = sorted({float(c) for c in choices})
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: choices must be numbers, got {choices!r}") from None
        if not vals:
            raise ConfigError(f"{where}: choices is empty; give at least one value")
        if not all(math.isfinite(v) for v in vals):
            raise ConfigError(f"{where}: choices must be finite numbers, got {choices!r}")
        if log and vals[0] <= 0:
            raise ConfigError(f"{where}: log = true needs positive choices, got {vals[0]}")
        return Variable(path, "integer", choices=tuple(vals), log=log)
    if "min" not in spec or "max" not in spec:
        raise ConfigError(f"{where}: needs min and max (or choices)")
    try:
        lo, hi = float(spec["min"]), float(spec["max"])
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: min and max must be numbers, got {spec['min']!r}, {spec['max']!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ConfigError(f"{where}: empty or inverted range min = {lo:g} > max = {hi:g}; need min <= max")
    if log and lo <= 0:
        raise ConfigError(f"{where}: log = true needs min > 0, got {lo:g}")
    integer = spec.get("integer", False)
    if integer and math.ceil(lo) > math.floor(hi):
        raise ConfigError(f"{where}: no integer in [{lo:g}, {hi:g}]")
    num = spec.get("num", DEFAULT_GRID_POINTS)
    if not isinstance(num, int) or num < 1:
        raise ConfigError(f"{where}: num = {num!r}; allowed: a positive integer")
    if integer:
        return Variable(path, "integer", float(math.ceil(lo)), float(math.floor(hi)), log, num=num)
    return Variable(path, "continuous", lo, hi, log, num=num)
