"""Exact evaluation of a fixed-shape batch of designs, reduced on device to what an archive
keeps: the k best feasible rows and the least-violating row.

Used inside the compiled loops of the grid, random and CMA-ES searchers, so that millions
of points cost one small transfer per chunk. Padding rows (``valid`` false) never count.
"""
import jax
import jax.numpy as jnp
import numpy as np

from ..model import EXACT, METRIC_NAMES
from ..objectives import Problem
from . import archive as arch


def evaluate_rows(problem: Problem, variant: int):
    """x (n, d) -> (metrics (n, M), objective (n,), g (n, n_g), feasible (n,)), traceable."""
    watch = tuple(dict.fromkeys(problem.objective.metrics + tuple(problem.pareto)))
    watch_idx = np.array([METRIC_NAMES.index(m) for m in watch], np.int32)

    def one(x):
        ev = problem.evaluate(variant, x, EXACT)
        mat = jnp.stack([jnp.asarray(getattr(ev.metrics, k), jnp.float32) for k in METRIC_NAMES])
        finite = jnp.isfinite(ev.objective) & jnp.all(jnp.isfinite(ev.violations)) & jnp.all(
            jnp.isfinite(mat[watch_idx]) & (mat[watch_idx] > 0))
        return mat, ev.objective, ev.violations, ev.feasible & finite

    return jax.vmap(one)


def reduce_rows(x, mat, obj, g, ok, valid, k: int):
    """On device: (rows (k + 1) of x, metrics, objective, g, feasible) = the k best feasible
    valid rows, then the least-violating valid row."""
    score = jnp.where(ok & valid, obj, jnp.inf)
    _, top = jax.lax.top_k(-score, k)
    viol = jnp.sum(jnp.where(jnp.isfinite(g), jnp.maximum(g, 0.0), 1e30), axis=-1)
    viol = jnp.where(valid & jnp.isfinite(obj), viol, jnp.inf)
    rows = jnp.concatenate([top, jnp.argmin(viol)[None]])
    return x[rows], mat[rows], obj[rows], g[rows], (ok & valid)[rows]


def merge_reduced(a: arch.Archive, variant: int, reduced, count: int) -> arch.Archive:
    """Merge one device reduction into the host archive, counting ``count`` evaluations."""
    x, mat, obj, g, ok = jax.device_get(reduced)
    return arch.merge(a, variant, x, mat, obj, g, ok, count=count)
