"""Sensitivities at an optimum: what each hardware parameter and each active constraint is
worth.

* Elasticities of the objective J = Σ w_i s_i ln m_i to every numeric chip and system
  parameter, dJ/d ln p = Σ w_i s_i (d ln m_i / d ln p), by reverse-mode differentiation of
  the exact model (:func:`codesign.model.sensitivity.elasticities`). For a single-metric
  objective it reads "% change of the metric per 1% change of the parameter".
* For each active constraint (g within ``active_tol`` of 0), the value of relaxing it by
  1% (bound x 1.01 or / 1.01, capacity or reticle + 1%):
  ``multiplier``: first order, from the KKT conditions of the relaxed problem at the
  design, ∇J + Σ λ_j ∇g_j = 0 over the variables not held by a bound (non-negative least
  squares), so ΔJ ≈ -λ_j ln 1.01;
  ``reoptimized``: the exact objective after re-optimising locally (pattern search from
  the design, exact evaluations) with only that constraint relaxed.
  Both are reported as the % change of the objective's (weighted geometric) metric value.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..model import Fidelity
from ..model.sensitivity import elasticities
from ..objectives import Problem, sense
from ..space.codec import make_codec
from .evaluator import compile_options, exact_batch
from .repair import pattern_moves

RELAX = math.log(1.01)


def objective_elasticities(problem: Problem, variant: int, x) -> dict:
    """{"chip.field" | "system.field": dJ / d ln p} at the exact design."""
    specs = problem.space.apply(problem.space.variants[variant].specs, jnp.asarray(x, jnp.float32))
    metrics = problem.objective.metrics
    per = elasticities(*specs, metrics=metrics)
    out = {}
    for m, wt in problem.objective.terms:
        for p, e in per[m].items():
            out[p] = out.get(p, 0.0) + wt * sense(m) * e
    return dict(sorted(out.items(), key=lambda kv: -abs(kv[1])))


def multipliers(problem: Problem, variant: int, x, active: list[int], sharpness: float = 64.0) -> np.ndarray:
    """λ >= 0 of the ``active`` constraints from ∇J + Σ λ ∇g = 0 in the unit-box coordinates
    of the variables that are not at a bound (non-negative least squares)."""
    codec = make_codec(problem.space)
    fid = Fidelity(smooth=True, sharpness=sharpness)

    def terms(z):
        ev = problem.evaluate(variant, codec.decode(z), fid)
        return jnp.concatenate([ev.objective[None], ev.violations[jnp.asarray(active, int)]])

    z = codec.encode(np.asarray(x, float)[None], np)[0].astype(np.float32)
    jac = np.asarray(jax.jit(jax.jacfwd(terms), compiler_options=compile_options())(z), float)
    if not np.all(np.isfinite(jac)):  # the smooth model has no slope here: no multipliers
        return np.full(len(active), np.nan)
    grad_j, grad_g = jac[0], jac[1:]
    zz = np.asarray(z)
    # A coordinate at its lower (upper) bound may keep a positive (negative) residual.
    free = ~(((zz <= 1e-6) & (grad_j > 0)) | ((zz >= 1 - 1e-6) & (grad_j < 0)))
    if not free.any() or not len(active):
        return np.zeros(len(active))
    return _nnls(grad_g[:, free].T, -grad_j[free])


def _nnls(a, b, iters: int = 500) -> np.ndarray:
    """min ||a λ - b|| s.t. λ >= 0 by projected gradient (tiny problems)."""
    lam = np.zeros(a.shape[1])
    step = 1.0 / max(np.linalg.norm(a, 2) ** 2, 1e-12)
    for _ in range(iters):
        lam = np.maximum(0.0, lam - step * a.T @ (a @ lam - b))
    return lam


def local_reoptimize(problem: Problem, variant: int, x, shift=None, rounds: int = 20):
    """(best objective, x, evaluations) of an exact pattern search from ``x`` with the
    constraints loosened by ``shift`` (g - shift <= 0; default none)."""
    codec = make_codec(problem.space)
    shift = np.zeros(len(problem.constraints.names)) if shift is None else np.asarray(shift, float)

    def evaluate(xs):
        _, obj, g, _ = exact_batch(problem, variant, xs)
        ok = np.all(np.isfinite(g) & (g - shift <= 0.0), -1) & np.isfinite(obj)
        return np.where(ok, obj, np.inf)

    best_x = np.asarray(x, float)
    best, evals = float(evaluate(best_x[None])[0]), 1
    for _ in range(rounds):
        moves = pattern_moves(codec, best_x, (1, 2, 4), (1 / 256, 1 / 1024, 1 / 4096), (1, 2, 4), (1 / 256, 1 / 1024, 1 / 4096))
        obj = evaluate(moves)
        evals += len(moves)
        i = int(np.argmin(obj))
        if not obj[i] < best - 1e-9:
            break
        best, best_x = float(obj[i]), moves[i]
    return best, best_x, evals


def at_optimum(problem: Problem, design: dict, active_tol: float = 0.02) -> dict:
    """Sensitivities at a reported design (a dict from SearchResult.designs)."""
    variant = _variant_index(problem, design["variant"])
    x = np.array([design["variables"][n] for n in problem.space.names], float)
    names = problem.constraints.names
    g = np.array([design["constraints"][n] for n in names])
    active = [i for i, n in enumerate(names) if n != "divisibility" and g[i] > -active_tol]
    lam = multipliers(problem, variant, x, active) if active else np.zeros(0)
    rows = []
    for k, i in enumerate(active):
        shift = np.where(np.arange(len(names)) == i, RELAX, 0.0)
        best, bx, evals = local_reoptimize(problem, variant, x, shift)
        ok = bool(np.isfinite(lam[k]))  # None (JSON null): the gradient is not finite at x
        rows.append({"constraint": names[i], "g": float(g[i]), "multiplier": float(lam[k]) if ok else None,
                     "objective_change_pct_first_order": 100.0 * (math.exp(-lam[k] * RELAX) - 1.0) if ok else None,
                     "objective_change_pct_reoptimized": 100.0 * (math.exp(best - design["objective"]) - 1.0),
                     "reoptimized_variables": dict(zip(problem.space.names, map(float, bx))),
                     "evaluations": evals})
    return {"objective_elasticities": objective_elasticities(problem, variant, x), "active_constraints": rows}


def _variant_index(problem: Problem, label: dict) -> int:
    for i, v in enumerate(problem.space.variants):
        if v.label == label:
            return i
    raise ValueError(f"design variant {label!r} is not in the problem's space")
