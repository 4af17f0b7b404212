"""Fit per-family parameters to measurements by gradient descent on log error.

Loss over the rows i with weights w_i (1 = fitted, 0 = held out):

.. math:: L(z) = \\frac{\\sum_i w_i\\,(\\ln \\hat y_i(\\theta(z)) - \\ln y_i)^2}{\\sum_i w_i}
          + \\lambda\\,\\overline{(z - z_0)^2},

with bounded parameters theta(z) (:mod:`codesign.calibration.params`) and a weak pull
(lambda = ``prior_weight``, default 1e-3) towards the start values z_0, which settles
directions the data leave flat (e.g. op latency vs link latency on Groq) without moving
parameters the data determine. Optimiser: optax adam
with a cosine-decayed learning rate, ``steps`` steps, compiled once (``lax.scan``); many fits
(leave-one-out folds, held-out systems) run as one ``vmap`` over weight vectors.

Convergence is reported, never assumed: a fit is *converged* when the largest gradient
component is below ``GRAD_TOL`` and the loss changed by less than ``REL_TOL`` x loss +
``ABS_TOL`` over the last 10% of steps. A parameter whose rows carry no sensitivity to it
(sqrt(sum w_i (d ln y_i / d ln theta)^2) < 1e-2: a 100% change moves no prediction by 1%) is *unconstrained*: the data say nothing
about it and the preset value stands.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..validation.mapping import FITTED_KINDS, Case
from ..validation.predict import make_predictor
from . import params as P

GRAD_TOL = 1e-3
REL_TOL = 1e-4
ABS_TOL = 1e-6  # loss units (mean squared log error): far below any meaningful change
SENSITIVITY_TOL = 1e-2


@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    """The rows a fit sees: a compiled-once predictor and the log measurements."""

    cases: tuple
    predict: object  # theta (n_families, N_PARAMS) -> {"value": (n,) ...}
    log_measured: np.ndarray
    families: tuple  # family names, index = row of theta
    family_index: np.ndarray  # per case
    theta0: np.ndarray  # (n_families, N_PARAMS) start values

    @property
    def n(self) -> int:
        return len(self.cases)

    @property
    def kinds(self) -> np.ndarray:
        return np.array([c.kind for c in self.cases])

    @property
    def hardware(self) -> np.ndarray:
        return np.array([c.hardware for c in self.cases])

    def family_of(self, hardware: str) -> str:
        """The calibration family of a hardware preset among the cases."""
        return next(c.family for c in self.cases if c.hardware == hardware)


def make_problem(cases: list[Case], kinds=FITTED_KINDS) -> Problem:
    """Keep the cases of the fitted metric classes; one parameter row per hardware family."""
    cases = tuple(c for c in cases if c.kind in kinds)
    families = tuple(dict.fromkeys(c.family for c in cases))
    index = np.array([families.index(c.family) for c in cases], int)
    predict = make_predictor(list(cases), index, P.apply)
    log_y = np.log(np.array([c.row.value for c in cases], np.float32))
    theta0 = np.tile(P.init_theta(), (len(families), 1))
    return Problem(cases, predict, log_y, families, index, theta0)


@dataclasses.dataclass(frozen=True)
class FitResult:
    theta: np.ndarray  # (n_families, N_PARAMS) fitted values
    loss_history: np.ndarray  # (steps,)
    grad_max: float  # largest |dL/dz| at the end
    rel_change: float  # |L(end) - L(90%)| / L(end)
    converged: bool
    log_pred: np.ndarray  # (n,) predictions of every row (fitted or not) at theta
    sensitivity: np.ndarray  # (n_families, N_PARAMS) over the fitted rows
    at_bound: np.ndarray  # (n_families, N_PARAMS) within 1% of a bound (relative to its range)
    z: np.ndarray  # (n_families, N_PARAMS) the unconstrained values of theta (params.to_physical(z) = theta)

    @property
    def loss(self) -> float:
        return float(self.loss_history[-1])

    @property
    def message(self) -> str:
        state = "converged" if self.converged else "DID NOT CONVERGE"
        return (f"{state}: loss {self.loss:.4g}, max |gradient| {self.grad_max:.2g} (tol {GRAD_TOL:g}), "
                f"relative loss change over the last 10% of steps {self.rel_change:.2g} "
                f"(tol {REL_TOL:g} + {ABS_TOL:g} / loss)")


def _loss_fn(problem: Problem, prior_weight: float = 0.0):
    y = jnp.asarray(problem.log_measured)
    z0 = jnp.asarray(P.to_unconstrained(problem.theta0), jnp.float32)

    def loss(z, w):
        pred = jnp.log(problem.predict(P.to_physical(z))["value"])
        data = jnp.sum(w * (pred - y) ** 2) / jnp.maximum(jnp.sum(w), 1.0)
        return data + prior_weight * jnp.mean((z - z0) ** 2), pred

    return loss


def _runner(problem: Problem, steps: int, learning_rate: float, prior_weight: float):
    loss = _loss_fn(problem, prior_weight)
    opt = optax.adam(optax.cosine_decay_schedule(learning_rate, steps, alpha=0.01))
    vg = jax.value_and_grad(loss, has_aux=True)

    def run(z0, w):
        # The carry keeps the point each step was evaluated at, so the reported parameters,
        # loss, gradient and predictions all belong to one point (the last update is dropped).
        def step(carry, _):
            z, state, _, _ = carry
            (value, log_pred), g = vg(z, w)
            updates, state = opt.update(g, state, z)
            return (optax.apply_updates(z, updates), state, z, log_pred), (value, jnp.max(jnp.abs(g)))

        init = (z0, opt.init(z0), z0, jnp.zeros_like(problem.log_measured))
        (_, _, z, log_pred), (history, grad_max) = jax.lax.scan(step, init, None, length=steps)
        return P.to_physical(z), history, grad_max[-1], log_pred, z

    return run


def sensitivity(problem: Problem, theta, weights) -> np.ndarray:
    """sqrt(sum_i w_i (d ln y_i / d ln theta)^2) per fit, family and parameter: (k, F, P)."""
    fn = jax.jit(jax.vmap(_sensitivity_fn(problem)))
    return np.asarray(fn(jnp.asarray(theta, jnp.float32), jnp.asarray(weights, jnp.float32)))


def _sensitivity_fn(problem: Problem):
    def log_pred(log_theta):
        return jnp.log(problem.predict(jnp.exp(log_theta))["value"])

    jac = jax.jacfwd(log_pred)  # (n, n_families, N_PARAMS)

    def sens(theta, w):
        j = jac(jnp.log(theta))
        return jnp.sqrt(jnp.einsum("i,ifp->fp", w, j ** 2))

    return sens


def fit_many(problem: Problem, weights: np.ndarray, steps: int = 1500, learning_rate: float = 0.05,
             prior_weight: float = 1e-3, sensitivities: bool = True) -> list[FitResult]:
    """One fit per row of ``weights`` (shape (k, n)), vmapped and compiled once.
    ``sensitivities=False`` skips the Jacobian (NaN in the results)."""
    weights = jnp.asarray(weights, jnp.float32)
    z0 = jnp.asarray(P.to_unconstrained(problem.theta0), jnp.float32)
    run = jax.jit(jax.vmap(_runner(problem, steps, learning_rate, prior_weight), in_axes=(None, 0)))
    theta, history, grad_max, log_pred, z = run(z0, weights)
    sens = sensitivity(problem, theta, weights) if sensitivities else np.full(theta.shape, np.nan)
    return [_result(*(np.asarray(a[k]) for a in (theta, history, grad_max, log_pred, sens, z)))
            for k in range(weights.shape[0])]


def curvature(problem: Problem, theta, z, weights, prior_weight: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Per fit k (one compiled, vmapped call): the :func:`sensitivity` (k, F, N_PARAMS) at
    ``theta`` and ``jax.hessian`` of the fit loss L(z; w) in the unconstrained parameters at
    ``z``, flattened: (k, F * N_PARAMS, F * N_PARAMS)."""
    loss = _loss_fn(problem, prior_weight)
    sens = _sensitivity_fn(problem)
    z = jnp.asarray(z, jnp.float32)
    shape = z.shape[1:]

    def one(theta_k, z_k, w_k):
        flat = lambda v: loss(v.reshape(shape), w_k)[0]  # noqa: E731
        return sens(theta_k, w_k), jax.hessian(flat)(z_k.reshape(-1))

    s, h = jax.jit(jax.vmap(one))(jnp.asarray(theta, jnp.float32), z, jnp.asarray(weights, jnp.float32))
    return np.asarray(s, float), np.asarray(h, float)


def fit(problem: Problem, weights=None, steps: int = 1500, learning_rate: float = 0.05,
        prior_weight: float = 1e-3) -> FitResult:
    """Fit all rows (or the rows with weight 1)."""
    w = np.ones(problem.n) if weights is None else np.asarray(weights, float)
    return fit_many(problem, w[None, :], steps, learning_rate, prior_weight)[0]


def _result(theta, history, grad_max, log_pred, sens, z) -> FitResult:
    tail = history[int(0.9 * len(history)):]
    rel = float(abs(tail[-1] - tail[0]) / max(abs(tail[-1]), 1e-12)) if len(tail) > 1 else float("inf")
    lo = np.array([p.lo for p in P.PARAMS])
    hi = np.array([p.hi for p in P.PARAMS])
    mult = np.array([p.kind == "multiplier" for p in P.PARAMS])
    span = np.where(mult, np.log(hi) - np.log(lo), hi - lo)
    x = np.where(mult, np.log(theta), theta)
    at_bound = (np.minimum(x - np.where(mult, np.log(lo), lo), np.where(mult, np.log(hi), hi) - x) < 0.01 * span)
    change = abs(float(tail[-1] - tail[0])) if len(tail) > 1 else float("inf")
    ok = bool(np.isfinite(history[-1]) and grad_max < GRAD_TOL and change <= REL_TOL * abs(float(tail[-1])) + ABS_TOL)
    return FitResult(theta=theta, loss_history=history, grad_max=float(grad_max), rel_change=rel,
                     converged=ok, log_pred=log_pred, sensitivity=sens, at_bound=at_bound, z=z)
