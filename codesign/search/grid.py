"""Exhaustive grid search: every point of the design space's grid, in fixed-shape chunks.

Points are enumerated by the sweep's enumerator (:class:`codesign.space.enumerate.Enumeration`
in grid mode): the host turns a chunk's start into mixed-radix digits (exact beyond 2^31)
and the device adds the local offsets, so a chunk is one compiled call whatever its
position (the last chunk is masked: no retrace). Each chunk is reduced on device to its best
feasible points (:mod:`~codesign.search.chunked`).
"""
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from ..objectives import Problem
from ..space.enumerate import MAX_POINTS, Enumeration
from ..specs._pytree import pytree_dataclass, static
from . import archive as arch
from .base import Searcher
from .chunked import evaluate_rows, merge_reduced, reduce_rows
from .evaluator import compile_options


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
def chunk_fn(problem: Problem, enum: Enumeration, variant: int, chunk: int, keep: int):
    """Jitted (start args (int32 vector of :meth:`Enumeration.start_args`), n_valid int32) ->
    reduced rows of points [start, start + n_valid) of ``enum``; shared by grid and random."""
    rows = evaluate_rows(problem, variant)

    def fn(args, n_valid):
        offsets = jnp.arange(chunk, dtype=jnp.int32)
        x = enum.decode(args, offsets)
        return reduce_rows(x, *rows(x), offsets < n_valid, keep)

    return jax.jit(fn, compiler_options=compile_options(many_points=True))


def grid_chunk_fn(problem: Problem, variant: int, chunk: int, keep: int):
    """The compiled grid chunk of ``variant`` (see :func:`chunk_fn`)."""
    return chunk_fn(problem, _grid_enum(problem), variant, chunk, keep)


@functools.lru_cache(maxsize=64)
def _grid_enum(problem: Problem) -> Enumeration:
    return Enumeration(problem.space, "grid")


@functools.lru_cache(maxsize=64)
def random_enum(problem: Problem) -> Enumeration:
    """The random-mode enumeration compiled programs decode with (the seed is an argument)."""
    return Enumeration(problem.space, "random")


def grid(problem: Problem, hyper: GridHyper = GridHyper(), budget: int | None = None) -> Searcher:
    """``budget``, if given, must cover the whole grid (it is exhaustive by definition)."""
    size = problem.space.grid_size
    total = size * len(problem.space.variants)
    if size > MAX_POINTS:
        raise ConfigError(f"grid: {size:.3g} points per variant exceeds 2**62; lower `num` of "
                          f"continuous variables or narrow ranges (grid shape {problem.space.grid_shape})")
    if budget is not None and budget < total:
        raise ConfigError(f"budget = {budget:,} is smaller than the grid ({total:,} points = "
                          f"{' x '.join(map(str, problem.space.grid_shape))} x {len(problem.space.variants)} "
                          "variants); grid search is exhaustive: raise the budget or use another method")
    chunk = min(hyper.chunk, max(1024, 1 << (size - 1).bit_length()))
    enum = _grid_enum(problem)
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
            red = fn(v)(enum.start_args(start), np.int32(min(chunk, size - start)))
            a = merge_reduced(a, v, red, count=min(chunk, size - start))
            start += chunk
            if start >= size:
                v, start = v + 1, 0
        return GridState(v, start, a)

    def fraction(state):
        return min(1.0, (state.variant * size + state.start) / max(total, 1))

    return Searcher("grid", init, step, lambda s: s.variant >= len(problem.space.variants),
                    lambda s: s.archive, fraction)
