"""Exact evaluation of a fixed-shape batch of designs, reduced on device to what an archive
keeps: the k best feasible rows and the least-violating row.

Used inside the compiled loops of the grid, random and CMA-ES searchers, so that millions
of points cost one small transfer per chunk. Padding rows (``valid`` false) never count.
Rows come from :func:`codesign.objectives.batch.evaluate_rows` (the one feasibility rule).
"""
import jax
import jax.numpy as jnp

from ..objectives.batch import evaluate_rows
from . import archive as arch

__all__ = ["INFEASIBLE", "evaluate_rows", "merge_reduced", "ranking_fitness", "reduce_rows"]


def reduce_rows(x, mat, obj, g, ok, valid, k: int):
    """On device: (rows (k + 1) of x, metrics, objective, g, feasible) = the k best feasible
    valid rows, then the least-violating valid row."""
    score = jnp.where(ok & valid, obj, jnp.inf)
    _, top = jax.lax.top_k(-score, k)
    viol = jnp.sum(jnp.where(jnp.isfinite(g), jnp.maximum(g, 0.0), 1e30), axis=-1)
    viol = jnp.where(valid & jnp.isfinite(obj), viol, jnp.inf)
    rows = jnp.concatenate([top, jnp.argmin(viol)[None]])
    return x[rows], mat[rows], obj[rows], g[rows], (ok & valid)[rows]


#: Ranking fitness of an infeasible design: above any feasible objective (a log-metric).
INFEASIBLE = 1e3


def ranking_fitness(obj, g, ok):
    """Fitness to rank designs by (minimise): the objective where feasible, else
    ``INFEASIBLE`` + total violation (capped), and 1e9 for non-finite rows, so a feasible
    design always beats an infeasible one and a less violating infeasible one a worse."""
    viol = jnp.sum(jnp.where(jnp.isfinite(g), jnp.maximum(g, 0.0), 1e6), axis=-1)
    fit = jnp.where(ok, obj, INFEASIBLE + jnp.minimum(viol, 1e6))
    return jnp.where(jnp.isfinite(fit), fit, 1e9)


def merge_reduced(a: arch.Archive, variant: int, reduced, count: int) -> arch.Archive:
    """Merge one device reduction into the host archive, counting ``count`` evaluations."""
    x, mat, obj, g, ok = jax.device_get(reduced)
    return arch.merge(a, variant, x, mat, obj, g, ok, count=count)
