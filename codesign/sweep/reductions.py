"""Exact, order-independent merges of sweep reductions (host side, numpy).

A :class:`Reductions` summarises any set of evaluated points: counts, histograms, the k best
feasible points per ranked quantity and the Pareto front. ``merge`` is associative and
commutative and loses nothing, so chunks, devices, shards and resumed runs combine to the same
result in any order:

* counts and histograms are integer sums;
* top-k keeps the k smallest (key, flat index) pairs — a total order, ties to the lower index;
* the front keeps the non-dominated points, where p dominates q iff p <= q in every
  (sense-adjusted) metric and p < q in one, or p == q and p has the lower index (a strict
  order, so front(A | B) = front(front(A) | front(B))).

Values are the float32 numbers the device computed, compared in float64 (exactly).
"""
import dataclasses

import numpy as np

from ..objectives.pareto import nondominated
from .kernel import ReduceSpec

__all__ = ["Records", "Reductions", "empty", "best_k", "pareto_values", "nondominated", "front_of", "merge",
           "from_step", "pivots", "to_arrays", "from_arrays", "equal"]


@dataclasses.dataclass(frozen=True)
class Records:
    """Designs by flat index with their rows (columns: ``ReduceSpec.columns``)."""

    index: np.ndarray  # int64 (n,)
    rows: np.ndarray  # float32 (n, ncol)

    def __len__(self):
        return len(self.index)

    def take(self, sel) -> "Records":
        return Records(self.index[sel], self.rows[sel])

    @staticmethod
    def empty(ncol: int) -> "Records":
        return Records(np.zeros(0, np.int64), np.zeros((0, ncol), np.float32))

    @staticmethod
    def concat(*rs) -> "Records":
        return Records(np.concatenate([r.index for r in rs]), np.concatenate([r.rows for r in rs]))


@dataclasses.dataclass(frozen=True)
class Reductions:
    counts: np.ndarray  # int64 (len(spec.counters),)
    hist: np.ndarray  # int64 (metrics, 2 = [infeasible, feasible], bins)
    top: dict  # ranked name -> Records, best first
    front: Records  # non-dominated, sorted by the first Pareto metric


def empty(spec: ReduceSpec, n_metrics: int) -> Reductions:
    ncol = len(spec.columns)
    return Reductions(np.zeros(len(spec.counters), np.int64), np.zeros((n_metrics, 2, spec.bins.size), np.int64),
                      {n: Records.empty(ncol) for n in spec.ranked}, Records.empty(ncol))


def _key(spec: ReduceSpec, name: str, rec: Records) -> np.ndarray:
    return spec.sense(name) * rec.rows[:, spec.col(name)].astype(np.float64)


def best_k(spec: ReduceSpec, name: str, rec: Records) -> Records:
    key = _key(spec, name, rec)
    ok = np.isfinite(key)
    rec, key = rec.take(ok), key[ok]
    order = np.lexsort((rec.index, key))[:spec.k]
    return rec.take(order)


def pareto_values(spec: ReduceSpec, rec: Records) -> np.ndarray:
    return np.stack([spec.sense(m) * rec.rows[:, spec.col(m)].astype(np.float64) for m in spec.pareto], -1)


def front_of(spec: ReduceSpec, rec: Records) -> Records:
    if not spec.pareto or len(rec) == 0:
        return rec.take(np.zeros(0, np.int64)) if spec.pareto else rec
    return rec.take(nondominated(pareto_values(spec, rec), rec.index))


def merge(spec: ReduceSpec, a: Reductions, b: Reductions) -> Reductions:
    """Merge two reductions of disjoint point sets: counts and histograms add, top-k and the
    Pareto front are recomputed over both (exact; order-independent)."""
    top = {n: best_k(spec, n, Records.concat(a.top[n], b.top[n])) for n in spec.ranked}
    front = front_of(spec, Records.concat(a.front, b.front)) if spec.pareto else a.front
    return Reductions(a.counts + b.counts, a.hist + b.hist, top, front)


def from_step(spec: ReduceSpec, out: dict, start: int, front_pass=None) -> Reductions:
    """The reductions of one chunk from the device's arrays (``start``: its first flat index).

    ``front_pass`` (positions, rows of every feasible point) replaces the step's front
    candidates when the device reported an overflow.
    """
    top = {}
    for n in spec.ranked:
        key, pos, rows = out[f"top:{n}"]
        ok = np.isfinite(key)
        top[n] = best_k(spec, n, Records(start + pos[ok].astype(np.int64), rows[ok]))
    front = Records.empty(len(spec.columns))
    if spec.pareto:
        pos, rows = front_pass if front_pass is not None else out["front"][1:]
        ok = pos >= 0
        front = front_of(spec, Records(start + pos[ok].astype(np.int64), np.asarray(rows[ok], np.float32)))
    return Reductions(out["counts"].astype(np.int64), out["hist"].astype(np.int64), top, front)


def pivots(spec: ReduceSpec, front: Records, start: int, chunk: int):
    """Up to ``spec.pivots`` front points, spread along the first metric, for a chunk at
    ``start``: (values float32 (P, m), positions relative to the chunk, int32 (P,))."""
    m, p = len(spec.pareto), spec.pivots
    g = np.full((p, m), np.inf, np.float32)
    rel = np.full(p, 2**30, np.int32)
    if len(front):
        pick = np.unique(np.linspace(0, len(front) - 1, min(p, len(front))).round().astype(int))
        sub = front.take(pick)
        g[:len(pick)] = pareto_values(spec, sub).astype(np.float32)
        rel[:len(pick)] = np.clip(sub.index - start, -1, chunk).astype(np.int32)
    return g, rel


def to_arrays(red: Reductions) -> dict:
    out = {"counts": red.counts, "hist": red.hist, "front.index": red.front.index, "front.rows": red.front.rows}
    for n, r in red.top.items():
        out[f"top.{n}.index"], out[f"top.{n}.rows"] = r.index, r.rows
    return out


def from_arrays(spec: ReduceSpec, arrays) -> Reductions:
    top = {n: Records(np.asarray(arrays[f"top.{n}.index"]), np.asarray(arrays[f"top.{n}.rows"])) for n in spec.ranked}
    front = Records(np.asarray(arrays["front.index"]), np.asarray(arrays["front.rows"]))
    return Reductions(np.asarray(arrays["counts"]), np.asarray(arrays["hist"]), top, front)


def equal(a: Reductions, b: Reductions) -> bool:
    """Bit-for-bit equality (for tests and merges)."""
    same = lambda x, y: x.shape == y.shape and np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
    return (same(a.counts, b.counts) and same(a.hist, b.hist) and set(a.top) == set(b.top)
            and all(same(a.top[n].index, b.top[n].index) and same(a.top[n].rows, b.top[n].rows) for n in a.top)
            and same(a.front.index, b.front.index) and same(a.front.rows, b.front.rows))
