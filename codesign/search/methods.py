"""The searchers by name, and one call that runs any of them.

    result = optimize(problem, "gradient", budget=5000, seed=0, progress=print)
"""
import jax

from ..errors import ConfigError
from ..objectives import Problem
from .base import Progress, SearchResult, Searcher, run
from .cmaes import CMAESHyper, cmaes
from .gradient import GradientHyper, gradient
from .grid import GridHyper, grid
from .random import RandomHyper, random

METHODS = {"gradient": (gradient, GradientHyper), "grid": (grid, GridHyper), "random": (random, RandomHyper),
           "cmaes": (cmaes, CMAESHyper)}


def make(problem: Problem, method: str = "gradient", budget: int | None = None, **hyper) -> Searcher:
    """A searcher by name; ``hyper`` overrides fields of its hyper-parameter pytree."""
    if method not in METHODS:
        raise ConfigError(f"method = {method!r}; allowed: {', '.join(METHODS)}")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1):
        raise ConfigError(f"budget = {budget!r}; allowed: a positive integer (model evaluations)")
    factory, _ = METHODS[method]
    return factory(problem, make_hyper(method, **hyper), budget=budget)


def make_hyper(method: str, **overrides):
    """The method's hyper-parameter pytree with ``overrides``, validated by name and type."""
    if method not in METHODS:
        raise ConfigError(f"method = {method!r}; allowed: {', '.join(METHODS)}")
    cls = METHODS[method][1]
    fields = cls.__dataclass_fields__
    for k, v in overrides.items():
        if k not in fields:
            raise ConfigError(f"search.{method}.{k}: not a {method} hyper-parameter; allowed: {', '.join(fields)}")
        default = fields[k].default
        ok = isinstance(v, bool) if isinstance(default, bool) else (
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 if isinstance(default, int)
            else isinstance(v, (int, float)) and not isinstance(v, bool))
        if not ok:
            raise ConfigError(f"search.{method}.{k} = {v!r}; allowed: a value like the default {default!r}")
    return cls(**overrides)


def optimize(problem: Problem, method: str = "gradient", budget: int | None = None, seed: int = 0,
             progress=None, top: int = 5, **hyper) -> SearchResult:
    """Run one searcher to completion; only feasible designs are results."""
    return run(make(problem, method, budget, **hyper), jax.random.key(seed), progress, problem=problem, top=top)


__all__ = ["METHODS", "Progress", "make", "make_hyper", "optimize"]
