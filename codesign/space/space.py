"""A design space: preset/static variants times a box of numeric variables.

Numeric variables form a vector ``x`` (one entry per variable, in config order) that
``apply`` writes into the spec pytrees — pure and jit/vmap/grad-friendly. Static choices
(hardware preset, model, dtypes, memory kind) form ``variants``, each with its own base specs
and its own compiled evaluation.
"""
import dataclasses
import itertools

import jax.numpy as jnp
import numpy as np

from ..design import Catalog, build_design
from ..errors import ConfigError
from ..specs import Chip, Mapping, Scenario, System, Workload, numeric_fields
from ..specs import replace as spec_replace
from .variables import Variable, parse_variable

SPEC_NAMES = ("chip", "system", "workload", "mapping", "scenario")
_SPEC_CLASSES = dict(zip(SPEC_NAMES, (Chip, System, Workload, Mapping, Scenario)))
_REQUEST_STATIC = {"hardware": "hardware", "model": "model", "workload.weight_dtype": "weight_dtype",
                   "workload.kv_dtype": "kv_dtype"}


@dataclasses.dataclass(frozen=True)
class Variant:
    label: dict  # static path -> chosen value
    specs: tuple  # (chip, system, workload, mapping, scenario) before numeric variables


@dataclasses.dataclass(frozen=True, eq=False)
class DesignSpace:
    variants: tuple[Variant, ...]
    variables: tuple[Variable, ...]  # numeric only, in the order of x

    @property
    def dim(self) -> int:
        return len(self.variables)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.path for v in self.variables)

    # Evaluation side (pure).
    def apply(self, specs, x):
        """Write the numeric vector ``x`` into ``specs`` (a 5-tuple of spec pytrees)."""
        specs = list(specs)
        for i, var in enumerate(self.variables):
            spec_name, field = var.path.split(".", 1)
            k = SPEC_NAMES.index(spec_name)
            specs[k] = spec_replace(specs[k], **{field: x[i]})
        return tuple(specs)

    # Grid side.
    def grid_axes(self) -> list[np.ndarray]:
        return [np.asarray(v.grid_values(), float) for v in self.variables]

    @property
    def grid_shape(self) -> tuple[int, ...]:
        return tuple(v.size for v in self.variables)

    @property
    def grid_size(self) -> int:
        """Points per variant (Python int: may exceed 2**31)."""
        return int(np.prod(self.grid_shape, dtype=object)) if self.variables else 1

    def grid_point(self, digits):
        """x for integer grid coordinates ``digits`` (one per variable); jit-friendly."""
        axes = [jnp.asarray(a) for a in self.grid_axes()]
        return jnp.stack([a[digits[..., i]] for i, a in enumerate(axes)], axis=-1)

    # Reporting side (host, numpy). Unit coordinates and rounding: ``space.codec``.
    def describe(self, variant: int, x) -> dict:
        out = dict(self.variants[variant].label)
        out.update({v.path: float(xi) for v, xi in zip(self.variables, np.asarray(x))})
        return out


def parse_space(request: dict, space_cfg, catalog: Catalog | None = None) -> DesignSpace:
    """Build a DesignSpace from the base ``request`` (see design.REQUEST_KEYS) and a
    ``space:`` mapping of path -> variable spec; ``catalog`` looks up preset names (of the
    request and of ``hardware``/``model`` choices), e.g. ``codesign.config.CATALOG``."""
    if not isinstance(space_cfg, dict) or not space_cfg:
        raise ConfigError("space: expected a non-empty mapping of variable path -> {min, max} or [choices]")
    variables = [parse_variable(str(p), s) for p, s in space_cfg.items()]
    for v in variables:
        _check_path(v.path)
    static = [v for v in variables if v.is_static]
    numeric = tuple(v for v in variables if not v.is_static)
    variants = []
    for combo in itertools.product(*(v.choices for v in static)) if static else [()]:
        label = {v.path: c for v, c in zip(static, combo)}
        variants.append(Variant(label, _variant_specs(request, label, catalog)))
    return DesignSpace(tuple(variants), numeric)


def allowed_paths() -> list[str]:
    """Every variable a ``space:`` block may name: ``spec.field`` for each numeric field of the
    chip, system, workload, mapping and scenario (searched in the field's own SI unit), then the
    categorical paths (preset names, dtypes, memory kind, pipeline split, price mode, topology)."""
    paths = [f"{s}.{f}" for s in SPEC_NAMES for f in numeric_fields(_SPEC_CLASSES[s])]
    return paths + [p for p in ("hardware", "model", "workload.weight_dtype", "workload.kv_dtype",
                                "chip.memory_kind", "chip.pp_split", "chip.price_mode",
                                "system.intra_topology")]


def _check_path(path: str):
    if path not in allowed_paths():
        raise ConfigError(f"space: unknown variable {path!r}; allowed: spec.field for spec in "
                          f"{', '.join(SPEC_NAMES)} (e.g. chip.sram_bytes, mapping.tp), or one of "
                          "hardware, model, workload.weight_dtype, workload.kv_dtype, chip.memory_kind, "
                          "chip.pp_split, chip.price_mode, system.intra_topology")
    if path in ("chip.reference_build_cost_usd", "chip.reference_clock_hz"):
        raise ConfigError(f"space: {path} is derived from the preset, not a design variable")


def _variant_specs(request: dict, label: dict, catalog: Catalog | None):
    req = dict(request)
    for path, value in label.items():
        if path in _REQUEST_STATIC:
            req[_REQUEST_STATIC[path]] = value
    # The mapping is a variable or a fixed value; never run the fewest-chips search here.
    for key in ("tp", "pp"):
        req.setdefault(key, 1)
    req.pop("chips", None) if "tp" in request and "pp" in request else None
    design = build_design(req, catalog)
    chip, system, w, m, sc = design.specs
    for path, value in label.items():
        if path.startswith("chip."):
            chip = spec_replace(chip, **{path[5:]: value})
        elif path.startswith("system."):
            system = spec_replace(system, **{path[7:]: value})
    return chip, system, w, m, sc
