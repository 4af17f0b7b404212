"""A co-design problem: design space x objective x constraints, evaluated point by point.

``Problem.evaluate(variant, x)`` is pure in ``x`` (jit/vmap/grad over x); ``variant`` is a
Python int selecting the static combination (preset, dtypes), one compile each.
"""
import dataclasses

import jax
import jax.numpy as jnp

from ..design import REQUEST_KEYS, Catalog
from ..errors import ConfigError
from ..model import EXACT, Fidelity, Metrics, evaluate
from ..space import DesignSpace, parse_space
from ..specs import pytree_dataclass
from .constraints import Constraints, parse_constraints
from .objective import Objective, parse_objective
from .metrics import check_metric

PROBLEM_KEYS = ("space", "objective", "constraints", "pareto")


@pytree_dataclass
class Evaluation:
    metrics: Metrics
    objective: jax.Array  # scalar to minimise
    violations: jax.Array  # g, feasible iff all <= 0
    feasible: jax.Array  # bool


@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    space: DesignSpace
    objective: Objective
    constraints: Constraints
    pareto: tuple[str, ...] = ()  # metrics for a Pareto front, if requested

    def evaluate(self, variant: int, x, fidelity: Fidelity = EXACT) -> Evaluation:
        specs = self.space.apply(self.space.variants[variant].specs, x)
        metrics = evaluate(*specs, fidelity)
        g = self.constraints(metrics, specs, exact=not fidelity.smooth)
        obj = self.objective(metrics)
        ok = jnp.all(g <= 0.0) & jnp.isfinite(obj)
        return Evaluation(metrics, obj, g, ok)


def split_config(cfg: dict) -> tuple[dict, dict]:
    """(design request keys, problem keys + anything else) from one experiment config."""
    request = {k: v for k, v in cfg.items() if k in REQUEST_KEYS}
    rest = {k: v for k, v in cfg.items() if k not in REQUEST_KEYS}
    return request, rest


def parse_problem(cfg: dict, extra_keys=(), catalog: Catalog | None = None) -> Problem:
    """Build a Problem from an experiment config; unknown top-level keys are named.

    Args:
        cfg: design request keys (``hardware``/``model`` as values, or names looked up in
            ``catalog``), ``space``, ``objective`` and/or ``pareto``, ``constraints``.
        extra_keys: further top-level keys the caller handles (e.g. ``search``, ``sweep``).
        catalog: preset lookups; ``codesign.config.load_problem`` passes the packaged presets.
    """
    allowed = set(REQUEST_KEYS) | set(PROBLEM_KEYS) | set(extra_keys)
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise ConfigError(f"config: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(allowed))}")
    request, rest = split_config(cfg)
    if "space" not in rest:
        raise ConfigError("config: a `space:` block is required (variable path -> {min, max} or [choices])")
    space = parse_space(request, rest["space"], catalog)
    pareto = tuple(check_metric(str(m), "pareto") for m in rest.get("pareto", ()) or ())
    if "objective" not in rest and not pareto:
        raise ConfigError("config: give an `objective:` (a metric or {metric: weight}) or `pareto:` [metrics]")
    objective = parse_objective(rest.get("objective", pareto[0] if pareto else None))
    return Problem(space, objective, parse_constraints(rest.get("constraints")), pareto)
