"""The record every searcher keeps of what it has evaluated exactly.

An :class:`Archive` holds the ``size`` best distinct feasible designs (by the problem's
objective), the least-violating design seen (to explain an infeasible space), the number
of model evaluations and a best-so-far trace. Merging is a pure function: it returns a new
archive. Only rows that are feasible and finite ever enter the best list.
"""
import math
from typing import NamedTuple

import numpy as np


class Archive(NamedTuple):
    x: np.ndarray  # (k, d) best feasible designs, best first
    variant: np.ndarray  # (k,) int
    objective: np.ndarray  # (k,)
    metrics: np.ndarray  # (k, n_metrics)
    g: np.ndarray  # (k, n_g)
    closest: tuple | None  # (violation, variant, x, g, metrics) of the least-violating point
    evals: int  # exact model evaluations
    grad_evals: int  # value-and-gradient evaluations of the relaxed model
    trace: tuple  # ((evals + grad_evals, best objective), ...) after each merge
    size: int


def empty(dim: int, size: int = 16) -> Archive:
    z = np.zeros((0, dim))
    return Archive(z, np.zeros(0, int), np.zeros(0), np.zeros((0, 0)), np.zeros((0, 0)), None, 0, 0, (), size)


def total_violation(g) -> np.ndarray:
    g = np.asarray(g, float)
    return np.where(np.isfinite(g), np.maximum(g, 0.0), 1e30).sum(axis=-1)


def merge(a: Archive, variant: int, x, metrics, objective, g, feasible, count: int | None = None,
          grad_evals: int = 0) -> Archive:
    """Add exactly evaluated rows (``count`` evaluations; default: the number of rows)."""
    x, objective, g = np.asarray(x, float), np.asarray(objective, float), np.asarray(g, float)
    metrics, feasible = np.asarray(metrics, float), np.asarray(feasible, bool)
    evals = a.evals + (len(x) if count is None else count)
    closest = a.closest
    if len(x):
        viol = total_violation(g)
        viol = np.where(np.isfinite(objective), viol, np.inf)
        i = int(np.argmin(viol))
        if np.isfinite(viol[i]) and (closest is None or viol[i] < closest[0]):
            closest = (float(viol[i]), int(variant), x[i].copy(), g[i].copy(), metrics[i].copy())
    ok = feasible & np.isfinite(objective)
    if ok.any():
        bx = np.concatenate([a.x, x[ok]]) if len(a.x) else x[ok]
        bv = np.concatenate([a.variant, np.full(int(ok.sum()), variant)])
        bo = np.concatenate([a.objective, objective[ok]])
        bm = np.concatenate([a.metrics, metrics[ok]]) if len(a.metrics) else metrics[ok]
        bg = np.concatenate([a.g, g[ok]]) if len(a.g) else g[ok]
        order = np.argsort(bo, kind="stable")
        keep, seen = [], set()
        for j in order:
            key = (int(bv[j]), tuple(_key(v) for v in bx[j]))
            if key not in seen:
                seen.add(key)
                keep.append(j)
            if len(keep) == a.size:
                break
        keep = np.array(keep, int)
        a = a._replace(x=bx[keep], variant=bv[keep], objective=bo[keep], metrics=bm[keep], g=bg[keep])
    best = float(a.objective[0]) if len(a.objective) else float("inf")
    spent = evals + a.grad_evals + grad_evals
    return a._replace(closest=closest, evals=evals, grad_evals=a.grad_evals + grad_evals,
                      trace=a.trace + ((spent, best),))


def _key(v: float):
    """Designs within about 5% in every continuous variable (and equal integers) count as one."""
    return v if float(v).is_integer() else int(round(math.log(abs(v) + 1e-300) / 0.05))


def add_grad_evals(a: Archive, n: int) -> Archive:
    return a._replace(grad_evals=a.grad_evals + n)
