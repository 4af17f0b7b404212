"""The chunk loop: dispatch compiled steps, merge their reductions, report through callbacks.

No I/O and no printing here: ``on_chunk`` (e.g. :mod:`.store`) persists each finished chunk
and ``progress`` receives a :class:`codesign.progress.Progress` (points of the target range,
recent rate, ETA) after each chunk. Up to ``depth`` chunks are kept in flight so the host's merging and
writing overlaps the devices' work. Every process of an SPMD run executes the same loop on
the same replicated results, so all of them hold the same reductions.
"""
import dataclasses
import math
import time
from collections import deque
from typing import Callable, Iterable

import jax
import numpy as np

from ..progress import Progress
from . import reductions as R
from .enumerate import Chunk, Enumeration, round_chunk
from .kernel import ReduceSpec, make_front_pass, make_rows, make_step


@dataclasses.dataclass(frozen=True)
class ChunkRows:
    """Every point of a chunk: flat indices, rows (``ReduceSpec.columns``), feasibility."""

    index: np.ndarray
    rows: np.ndarray
    feasible: np.ndarray


def _host(tree):
    """Replicated device arrays -> numpy (this process's copy)."""
    return jax.tree.map(lambda a: np.asarray(a.addressable_data(0)), tree)


class _Compiled:
    """Per-variant compiled functions (one compile each; chunks never retrace)."""

    def __init__(self, problem, enum, spec, mesh, chunk):
        self.args = (problem, enum)
        self.spec, self.mesh, self.chunk = spec, mesh, chunk
        self.fns = {}

    def get(self, kind, variant):
        key = (kind, variant)
        if key not in self.fns:
            problem, enum = self.args
            if kind == "step":
                self.fns[key] = make_step(problem, enum, variant, self.spec, self.mesh, self.chunk)
            elif kind == "front":
                self.fns[key] = make_front_pass(problem, enum, variant, self.spec, self.mesh, self.chunk)
            else:
                self.fns[key] = make_rows(problem, enum, variant, self.mesh, self.chunk)
        return self.fns[key]


def run_chunks(problem, enum: Enumeration, spec: ReduceSpec, chunks: Iterable[Chunk], state: R.Reductions, *,
               mesh, chunk: int, done_points: int = 0, total_points: int = 0, rows: bool = False,
               on_chunk: Callable[[Chunk, R.Reductions, ChunkRows | None], None] | None = None,
               progress: Callable[[Progress], None] | None = None, depth: int = 3) -> R.Reductions:
    """Evaluate ``chunks`` and fold them into ``state``; returns the final reductions.

    ``on_chunk(chunk, state, rows)`` runs after each chunk is merged, in dispatch order.
    """
    size = round_chunk(chunk, mesh.devices.size)
    fns = _Compiled(problem, enum, spec, mesh, size)
    t0 = time.perf_counter()
    recent = deque([(t0, 0)])  # (time, points) over the last ~10 s, for the rate
    run_points = 0
    inflight = deque()
    it = iter(chunks)

    def dispatch():
        c = next(it, None)
        if c is None:
            return False
        args = enum.start_args(c.local_start)
        piv = R.pivots(spec, state.front, c.start, size) if spec.pareto else _no_pivots(spec)
        out = fns.get("step", c.variant)(args, np.int32(c.size), *piv)
        inflight.append((c, args, out))
        return True

    while len(inflight) < depth and dispatch():
        pass
    while inflight:
        c, args, out = inflight.popleft()
        out = _host(out)
        front_pass = None
        if spec.pareto and out["front"][0].any():
            front_pass = _host(fns.get("front", c.variant)(args, np.int32(c.size)))
        state = R.merge(spec, state, R.from_step(spec, out, c.start, front_pass))
        chunk_rows = None
        if rows:
            off, r, feas = _host(fns.get("rows", c.variant)(args, np.int32(c.size)))
            keep = off < c.size
            chunk_rows = ChunkRows(c.start + off[keep].astype(np.int64), r[keep], feas[keep])
        dispatch()  # keep the devices busy while the host writes
        if on_chunk is not None:
            on_chunk(c, state, chunk_rows)
        run_points += c.size
        done_points += c.size
        now = time.perf_counter()
        recent.append((now, run_points))
        while len(recent) > 2 and now - recent[1][0] > 10.0:
            recent.popleft()
        if progress is not None:
            t_old, p_old = recent[0]
            rate = (run_points - p_old) / max(now - t_old, 1e-9)
            left = max(total_points - done_points, 0)
            progress(Progress("sweep", min(1.0, done_points / total_points) if total_points else 1.0, done_points,
                              total_points, "points", math.nan, now - t0, rate, left / rate if rate > 0 else None))
    return state


def _no_pivots(spec):
    return np.zeros((spec.pivots, 1), np.float32), np.zeros(spec.pivots, np.int32)
