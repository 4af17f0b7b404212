"""The ``search:`` block of an experiment config, merged with explicit overrides and validated.

    search: {method: gradient, budget: 20000, seed: 0, top: 5, points: 16, gradient: {starts: 32}}
"""
import math

from ..config import CATALOG
from ..design.fields import INT32_MAX, Range
from ..errors import ConfigError
from ..objectives import Problem, parse_problem, sense
from ..search.methods import METHODS

#: Top-level config keys besides the problem's: search settings and experiment extras.
EXTRA_KEYS = ("search", "compare", "title")
SEARCH_KEYS = ("method", "budget", "seed", "top", "points") + tuple(METHODS)
_LOWER = {"budget": 1, "seed": 0, "top": 1, "points": 2}


def parse_experiment_problem(cfg: dict) -> Problem:
    """The optimisation problem of an experiment config (``search``, ``compare``, ``title`` allowed)."""
    return parse_problem(cfg, extra_keys=EXTRA_KEYS, catalog=CATALOG)


def search_settings(cfg: dict, overrides: dict | None = None) -> dict:
    """The config's ``search:`` block with ``overrides`` (method, budget, seed, top, points;
    None leaves a key as configured), validated.

    Returns:
        {method, budget (None: the method's default; always None for an un-overridden grid,
        which is exhaustive), seed, top, points, hyper (the method's hyper-parameter mapping)}.

    Raises:
        ConfigError: naming the key (``search.method``, ``budget``, ...), the value and what is allowed.
    """
    block = cfg.get("search") or {}
    if not isinstance(block, dict):
        raise ConfigError(f"search: expected a mapping with keys {', '.join(SEARCH_KEYS)}, got {block!r}")
    bad = sorted(set(block) - set(SEARCH_KEYS))
    if bad:
        raise ConfigError(f"search: unknown key {bad[0]!r}; allowed: {', '.join(SEARCH_KEYS)}")
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(given) - set(_LOWER) - {"method"})
    if unknown:
        raise ConfigError(f"overrides: unknown key {unknown[0]!r}; allowed: method, {', '.join(_LOWER)}")
    out = {"method": block.get("method", "gradient"), "budget": block.get("budget"), "seed": block.get("seed", 0),
           "top": block.get("top", 5), "points": block.get("points", 16)} | given
    if out["method"] not in METHODS:
        where = "method" if "method" in given else "search.method"
        raise ConfigError(f"{where} = {out['method']!r}; allowed: {', '.join(METHODS)}")
    if out["method"] == "grid" and "budget" not in given:
        out["budget"] = None  # the config's budget is for the sampling methods; the grid is exhaustive
    for key, lo in _LOWER.items():
        v = out[key]
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)
                              or not Range(lo, INT32_MAX, integer=True).contains(v)):
            # not through fields.integer: 1e4 or "7" in a search block stays an error, as it was
            raise ConfigError(f"{key} = {v!r}; allowed: an integer >= {lo} (and <= {INT32_MAX}: JAX takes int32)")
    hyper = block.get(out["method"]) or {}
    if not isinstance(hyper, dict):
        raise ConfigError(f"search.{out['method']}: expected a mapping of hyper-parameter: value")
    out["hyper"] = hyper
    return out


def objective_value(problem: Problem, objective: float) -> float:
    """The objective as the metric's own value for a single-metric objective.

    The searchers minimise J = s ln(m) * w (s = +1 to minimise, -1 to maximise), so
    m = exp(s J / w); a weighted sum of several metrics is returned as J itself.
    """
    (metric, weight), = problem.objective.terms if len(problem.objective.terms) == 1 else ((None, 1.0),)
    if metric is None:
        return objective
    return math.exp(sense(metric) * objective / weight)
