"""A sweep's reductions as a JSON-ready summary (pure; deterministic for equal reductions)."""
import numpy as np

from ..model import METRIC_NAMES
from .enumerate import Enumeration
from .histogram import quantiles, value_range
from .kernel import ReduceSpec
from .reductions import Records, Reductions


def design(enum: Enumeration, spec: ReduceSpec, index: int, row: np.ndarray) -> dict:
    """One swept design: flat index, static variant, numeric variables, metrics, objective."""
    variant, local = divmod(int(index), enum.per_variant)
    out = {"index": int(index), "variant": dict(enum.space.variants[variant].label)}
    if enum.mode == "grid":
        out["grid_digits"] = list(enum.grid_digits(local))
    dim = enum.space.dim
    out["design"] = {n: float(row[i]) for i, n in enumerate(spec.columns[:dim])}
    out["metrics"] = {n: float(row[dim + i]) for i, n in enumerate(METRIC_NAMES)}
    out["objective"] = float(row[-1])
    return out


def _records(enum, spec, rec: Records) -> list:
    return [design(enum, spec, i, r) for i, r in zip(rec.index.tolist(), rec.rows)]


def _hist_stats(counts, bins) -> dict:
    n = int(counts[:-1].sum())
    p5, p50, p95 = quantiles(counts, bins)
    rng = value_range(counts, bins)
    return {"count": n, "nan": int(counts[-1]), "below_range": int(counts[0]), "above_range": int(counts[-2]),
            "range": list(rng) if rng else None, "p05_upper": p5, "p50_upper": p50, "p95_upper": p95}


def summarize(enum: Enumeration, spec: ReduceSpec, red: Reductions, *, target_points: int, done_points: int) -> dict:
    """A JSON-ready summary of a sweep's reductions: counts, feasible fraction, top designs,
    the Pareto front and histogram statistics, for ``done_points`` of ``target_points``."""
    counts = dict(zip(spec.counters, (int(c) for c in red.counts)))
    points, feasible = counts["points"], counts["feasible"]
    hist = {}
    for i, m in enumerate(METRIC_NAMES):
        both = red.hist[i].sum(0)
        hist[m] = {"all": _hist_stats(both, spec.bins), "feasible": _hist_stats(red.hist[i, 1], spec.bins)}
    return {
        "complete": done_points >= target_points,
        "target_points": int(target_points),
        "points": points,
        "feasible": feasible,
        "feasible_fraction": feasible / points if points else None,
        "nonfinite_objective": counts["nonfinite_objective"],
        "violations": {c: counts[f"violates {c}"] for c in spec.constraints},
        "space": {"mode": enum.mode, "variants": [v.label for v in enum.space.variants],
                  "variables": list(enum.space.names), "grid_shape": list(enum.space.grid_shape),
                  "points_per_variant": enum.per_variant, "total_points": enum.total},
        "top_k": {n: _records(enum, spec, red.top[n]) for n in spec.ranked},
        "pareto": {"metrics": list(spec.pareto), "points": _records(enum, spec, red.front)},
        "histograms": {"bins_per_octave": spec.bins.bins_per_octave, "min_exp2": spec.bins.min_exp2,
                       "max_exp2": spec.bins.max_exp2, "metrics": hist},
    }
