"""Exhaustive grid search: every point of the design space's grid, in fixed-shape chunks.

Point i of a variant's grid is decoded on device from its mixed-radix digits, so a chunk
is one compiled call whatever its position (the start index is an int32 argument; the last
chunk is padded and masked: no retrace). Each chunk is reduced on device to its best
feasible points (:mod:`~codesign.search.chunked`). Grids of more than about 2^31 points per
variant are refused (indices are int32 inside jit).
"""
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from ..objectives import Problem
from ..specs._pytree import pytree_dataclass, static
from . import archive as arch
from .base import Searcher
from .chunked import evaluate_rows, merge_reduced, reduce_rows
from .evaluator import FAST_COMPILE

MAX_POINTS = 2 ** 31 - 2 ** 20  # flat int32 indices, with room for one padded chunk


@pytree_dataclass
class GridHyper:
    chunk: int = static(65536)  # points per compiled call
    chunks_per_step: int = static(4)  # chunks between progress reports
    keep: int = static(16)  # best designs kept


class GridState(NamedTuple):
    variant: int
    start: int  # next flat index in the current variant
    archive: arch.Archive


@functools.lru_cache(maxsize=64)
def grid_chunk_fn(problem: Problem, variant: int, chunk: int, keep: int):
    """Jitted (start int32, size int32) -> reduced rows of grid points [start, start + chunk)."""
    axes = [jnp.asarray(a, jnp.float32) for a in problem.space.grid_axes()]
    radix = [len(a) for a in axes]
    rows = evaluate_rows(problem, variant)

    def fn(start, size):
        flat = start + jnp.arange(chunk, dtype=jnp.int32)
        valid = flat < size
        rem, cols = jnp.where(valid, flat, 0), []
        for a, r in zip(reversed(axes), reversed(radix)):  # row-major: last axis fastest
            cols.append(a[rem % r])
            rem = rem // r
        x = jnp.stack(cols[::-1], axis=-1)
        return reduce_rows(x, *rows(x), valid, keep)

    return jax.jit(fn, compiler_options=FAST_COMPILE)


def grid(problem: Problem, hyper: GridHyper = GridHyper(), budget: int | None = None) -> Searcher:
    """``budget``, if given, must cover the whole grid (it is exhaustive by definition)."""
    size = problem.space.grid_size
    total = size * len(problem.space.variants)
    if size > MAX_POINTS:
        raise ConfigError(f"grid: {size:,} points per variant exceeds {MAX_POINTS:,}; lower `num` of "
                          f"continuous variables or narrow ranges (grid shape {problem.space.grid_shape})")
    if budget is not None and budget < total:
        raise ConfigError(f"--budget {budget:,} is smaller than the grid ({total:,} points = "
                          f"{' x '.join(map(str, problem.space.grid_shape))} x {len(problem.space.variants)} "
                          "variants); grid search is exhaustive: raise the budget or use another method")
    chunk = min(hyper.chunk, max(1024, 1 << (size - 1).bit_length()))
    def fn(v):
        return grid_chunk_fn(problem, v, chunk, hyper.keep)

    def init(key):
        del key  # deterministic
        return GridState(0, 0, arch.empty(problem.space.dim, hyper.keep))

    def step(state):
        v, start, a = state
        for _ in range(hyper.chunks_per_step):
            if v >= len(problem.space.variants):
                break
            red = fn(v)(np.int32(start), np.int32(size))
            a = merge_reduced(a, v, red, count=min(chunk, size - start))
            start += chunk
            if start >= size:
                v, start = v + 1, 0
        return GridState(v, start, a)

    def fraction(state):
        return min(1.0, (state.variant * size + state.start) / max(total, 1))

    return Searcher("grid", init, step, lambda s: s.variant >= len(problem.space.variants),
                    lambda s: s.archive, fraction)
