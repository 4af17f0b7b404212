"""Constraints as normalised violations g(x) <= 0.

Bounds on metrics become g = ln(m / upper) or g = ln(lower / m): scale-free, so one penalty
weight fits all. Built-in constraints apply to every problem:

* ``memory_fits``: ln(bytes per chip / capacity) <= 0;
* ``die_reticle``: ln(die area / reticle) <= 0;
* ``divisibility`` (exact only, enforced by repair in search): tp divides the heads,
  ep divides tp and the experts, pp <= layers.
"""
import dataclasses

import jax.numpy as jnp

from ..errors import ConfigError
from .metrics import check_metric

BUILT_IN = ("memory_fits", "die_reticle", "divisibility")


@dataclasses.dataclass(frozen=True)
class Bound:
    metric: str
    lower: float | None = None
    upper: float | None = None

    def names(self) -> list[str]:
        out = []
        if self.lower is not None:
            out.append(f"{self.metric} >= {self.lower:g}")
        if self.upper is not None:
            out.append(f"{self.metric} <= {self.upper:g}")
        return out

    def violations(self, metrics) -> list:
        m = getattr(metrics, self.metric)
        out = []
        if self.lower is not None:
            out.append(jnp.log(self.lower) - jnp.log(m))
        if self.upper is not None:
            out.append(jnp.log(m) - jnp.log(self.upper))
        return out


def _divides(a, b):
    """0 where b divides a (both positive integers as floats), 1 otherwise."""
    r = jnp.mod(a, b)
    return jnp.where(jnp.minimum(r, b - r) < 1e-3, 0.0, 1.0)


def divisibility_violation(specs):
    """Count of violated divisibility rules (0 = all hold); not differentiable."""
    chip, system, w, m, sc = specs
    moe = w.n_experts > 0
    bad = (_divides(w.n_heads, m.tp) + jnp.where(moe, _divides(m.tp, m.ep) + _divides(w.n_experts, m.ep),
                                                 jnp.where(m.ep == 1.0, 0.0, 1.0))
           + jnp.where(m.pp <= w.layers + 1e-6, 0.0, 1.0))
    return bad


@dataclasses.dataclass(frozen=True)
class Constraints:
    bounds: tuple[Bound, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return BUILT_IN + tuple(n for b in self.bounds for n in b.names())

    def __call__(self, metrics, specs, exact: bool = True):
        """Vector g (feasible iff all <= 0). Divisibility is 0 when ``exact`` is false."""
        chip = specs[0]
        g = [jnp.log(metrics.memory_per_chip_bytes / metrics.memory_capacity_bytes),  # one log: float32 resolves ~1e-7
             jnp.log(metrics.die_area_mm2) - jnp.log(chip.reticle_mm2),
             divisibility_violation(specs) if exact else jnp.zeros_like(metrics.chips)]
        for b in self.bounds:
            g.extend(b.violations(metrics))
        return jnp.stack(g, axis=-1)


def parse_constraints(cfg) -> Constraints:
    """``{metric: {min: X, max: Y}}`` (either bound optional)."""
    if cfg is None:
        return Constraints()
    if not isinstance(cfg, dict):
        raise ConfigError(f"constraints: expected a mapping of metric -> {{min, max}}, got {cfg!r}")
    bounds = []
    for metric, spec in cfg.items():
        check_metric(str(metric), "constraints")
        if not isinstance(spec, dict) or not spec or set(spec) - {"min", "max"}:
            raise ConfigError(f"constraints.{metric}: expected {{min: X}} and/or {{max: Y}}, got {spec!r}")
        vals = {}
        for k in ("min", "max"):
            if k in spec:
                v = spec[k]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                    raise ConfigError(f"constraints.{metric}.{k} = {v!r}; allowed: a number > 0")
                vals[k] = float(v)
        if "min" in vals and "max" in vals and vals["min"] > vals["max"]:
            raise ConfigError(f"constraints.{metric}: min {vals['min']:g} > max {vals['max']:g}")
        bounds.append(Bound(str(metric), vals.get("min"), vals.get("max")))
    return Constraints(tuple(bounds))
