"""Pareto fronts over 2-3 metrics: a front search by vmapped scalarisations (the filters and
the hypervolume live in :mod:`codesign.objectives.pareto` and are re-exported here).

Every metric is turned into minimisation form f_i = s_i ln m_i (s_i = -1 for metrics to
maximise). The front search runs the gradient searcher twice, each time with many
scalarisations searched together under ``jax.vmap``:

1. anchors and weighted sums: minimise w . f for the unit vectors (each metric alone) and
   weights spread over the simplex;
2. ε-constraints: minimise f_1 subject to f_j <= ε_j, with ε levels spread between the
   anchors (Haimes, Lasdon & Wismer 1971; this reaches non-convex parts of the front that
   weighted sums miss).

Every feasible design either run evaluated exactly is pooled; the result holds each
variant's non-dominated designs (so SRAM-only and HBM fronts can be compared) and marks the
joint front.
"""
import itertools
import math
import time
from typing import NamedTuple

import jax
import numpy as np

from ..model import METRIC_NAMES
from ..objectives import Problem, check_metric
from ..objectives.objective import metric_signs, signed_log
from ..objectives.pareto import hypervolume, nondominated_mask as nondominated
from .base import search_progress
from .gradient import GradientHyper, gradient
from .scalarize import NO_BOUND, Scalarization

__all__ = ["Front", "front", "hypervolume", "nondominated", "simplex_weights", "to_min"]


def to_min(metrics_matrix, metrics: tuple[str, ...]) -> np.ndarray:
    """f = s ln m for the named columns of a metrics matrix (n, len(METRIC_NAMES))."""
    idx = [METRIC_NAMES.index(m) for m in metrics]
    return signed_log(np.asarray(metrics_matrix, float)[:, idx], metric_signs(metrics), np)


class Front(NamedTuple):
    metrics: tuple[str, ...]
    variant: np.ndarray  # (n,) int; rows sorted by variant, then by the first metric
    x: np.ndarray  # (n, d)
    values: np.ndarray  # (n, k) metric values in their own units
    all_metrics: np.ndarray  # (n, len(METRIC_NAMES))
    overall: np.ndarray  # (n,) bool: on the joint front of all variants (else only on its variant's)
    hypervolume: float  # of the joint front, f = s ln m, w.r.t. ``ref``
    ref: np.ndarray
    evals: int
    wall_s: float
    pool_size: int


def simplex_weights(k: int, n: int) -> np.ndarray:
    """Unit vectors first, then evenly spread points of the (k-1)-simplex: n rows in all."""
    rows = [np.eye(k)[i] for i in range(k)]
    steps = 1
    while len(rows) < n:
        steps += 1
        grid = [np.array(c, float) / steps for c in itertools.product(range(steps + 1), repeat=k) if sum(c) == steps]
        for g in grid:
            if not any(np.allclose(g, r) for r in rows):
                rows.append(g)
    return np.array(rows[:n])


def front(problem: Problem, metrics=None, points: int = 16, budget: int | None = None, seed: int = 0,
          hyper: GradientHyper = GradientHyper(starts=4), progress=None, ref=None) -> Front:
    """Search the Pareto front of ``metrics`` (default: the problem's ``pareto:``) with
    ``points`` scalarisations per run; ``budget`` evaluations in all (1/3 anchors and
    weighted sums, 2/3 ε-constraints)."""
    metrics = tuple(check_metric(m, "pareto") for m in (metrics or problem.pareto))
    if not 2 <= len(metrics) <= 3:
        raise ValueError(f"pareto: {len(metrics)} metrics; give 2 or 3")
    t0 = time.perf_counter()
    k = len(metrics)
    key = jax.random.key(seed)
    k1, k2 = jax.random.split(key)
    pools, evals = [], 0

    def run(sc, b, key, phase):
        nonlocal evals
        s = gradient(problem, hyper, budget=b, scalarization=sc)
        st = s.init(key)
        while not s.done(st):
            st = s.step(st)
            if progress is not None:
                a = s.archive(st)
                progress(search_progress("pareto", (phase + s.fraction(st)) / 2, evals + a.evals + a.grad_evals,
                                         math.inf, time.perf_counter() - t0))
        a = s.archive(st)
        evals += a.evals + a.grad_evals
        pools.extend(st.pool)
        return st

    w = simplex_weights(k, points)
    b1 = None if budget is None else max(1, budget // 3)
    run(Scalarization(metrics, w, np.full((points, k), NO_BOUND)), b1, k1, 0)
    f_pool = _pool_f(pools, metrics)
    if len(f_pool):
        lo, hi = f_pool[nondominated(f_pool)].min(0), f_pool[nondominated(f_pool)].max(0)
        eps = _eps_levels(lo, hi, points)
        sc2 = Scalarization(metrics, np.tile(np.eye(k)[0], (len(eps), 1)), eps)
        run(sc2, None if budget is None else max(1, budget - evals), k2, 1)
    return _finish(problem, metrics, pools, evals, time.perf_counter() - t0, ref)


def _eps_levels(lo, hi, points: int) -> np.ndarray:
    """ε rows for metrics 2..k (column 0 unbounded): a grid between each metric's anchors."""
    k = len(lo)
    per = max(2, int(round(points ** (1.0 / (k - 1)))))
    axes = [np.linspace(lo[j], hi[j], per + 1)[1:] if hi[j] > lo[j] else np.array([hi[j]]) for j in range(1, k)]
    grid = np.array(list(itertools.product(*axes)))[:points]
    rows = np.full((len(grid), k), NO_BOUND)
    rows[:, 1:] = grid + 1e-9
    if len(rows) < points:  # pad (equal shapes for every run) with the loosest level
        rows = np.vstack([rows, np.repeat(rows[-1:], points - len(rows), 0)])
    return rows


def _pool_f(pools, metrics):
    mats = [m for _, _, m in pools if len(m)]
    return to_min(np.concatenate(mats), metrics) if mats else np.zeros((0, len(metrics)))


def _finish(problem, metrics, pools, evals, wall_s, ref) -> Front:
    d = problem.space.dim
    var = np.concatenate([np.full(len(x), v) for v, x, _ in pools]) if pools else np.zeros(0, int)
    xs = np.concatenate([x for _, x, _ in pools]) if pools else np.zeros((0, d))
    mats = np.concatenate([m for _, _, m in pools]) if pools else np.zeros((0, len(METRIC_NAMES)))
    f = to_min(mats, metrics)
    # The front of each variant (memory technology, preset, dtype): a variant's designs are
    # kept even where another variant dominates them; `overall` marks the joint front.
    keep = np.zeros(len(f), bool)
    for v in np.unique(var):
        sel = np.flatnonzero(var == v)
        keep[sel[nondominated(f[sel])]] = True
    uniq = {}  # one row per distinct design (several starts reach the same one)
    for i in np.flatnonzero(keep):
        uniq.setdefault((int(var[i]), tuple(np.round(f[i], 9))), i)
    idx = np.array(sorted(uniq.values(), key=lambda i: (int(var[i]), tuple(f[i]))), int)
    f_front = f[idx] if len(idx) else np.zeros((0, len(metrics)))
    overall = nondominated(f_front) if len(idx) else np.zeros(0, bool)
    if ref is None and len(idx):
        span = np.maximum(f_front.max(0) - f_front.min(0), 1e-9)
        ref = f_front.max(0) + 0.05 * span
    hv = hypervolume(f_front[overall], ref) if len(idx) else 0.0
    cols = [METRIC_NAMES.index(m) for m in metrics]
    return Front(metrics, var[idx].astype(int), xs[idx], mats[idx][:, cols] if len(idx) else np.zeros((0, len(metrics))),
                 mats[idx], overall, hv, np.asarray(ref if ref is not None else np.zeros(len(metrics)), float), evals,
                 wall_s, len(f))
