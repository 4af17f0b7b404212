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

__all__ = ["evaluate_rows", "reduce_rows", "merge_reduced"]


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
