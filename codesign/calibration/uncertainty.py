"""Uncertainty of a calibration fit (Laplace approximation) and its propagation to metrics.

**Laplace approximation.** The fit minimises (see :mod:`codesign.calibration.fit`)
``L(z) = SSE(z) / n + prior(z)`` with SSE the weighted sum of squared log errors over the n
fitted rows and z the unconstrained parameters (:func:`codesign.calibration.params.to_physical`).
Reading the squared log errors as Gaussian with variance s^2, the negative log posterior is
``n L(z) / (2 s^2)``, so around the optimum z*:

.. math:: \\Sigma_z = \\frac{2 s^2}{n}\\, H^{-1}, \\qquad H = \\nabla^2_z L(z^*), \\qquad
          s^2 = \\frac{\\mathrm{SSE}(z^*)}{n - p},

with p the number of parameters (the constrained ones) and H from ``jax.hessian``. For a linear
least-squares fit without prior this is the textbook ``s^2 (J^T J)^{-1}``.

**Propagation.** Parameters are sampled from ``N(z*, Sigma_z)`` in the unconstrained space
(so every sample lies inside the physical bounds), mapped to physical values and pushed through
the model (``jax.vmap`` over samples gives every metric at once); an interval at level q is the
((1 - q) / 2, (1 + q) / 2) quantile pair. For a metric of a fitted class, a *prediction*
interval also includes the fit's residual scatter in log space (the model's error on rows it
has seen, which no parameter removes): ``ln y = ln yhat(z) + eps``, eps ~ N(0, s_k^2).
Pure: no files.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np

#: Metrics fields of each fitted metric class (their intervals include the residual scatter).
KIND_METRICS = {
    "per-user speed": ("decode_tokens_per_s_per_user", "tokens_per_s_per_user", "decode_s_per_token"),
    "throughput": ("throughput_tokens_per_s",),
    "energy per token": ("joules_per_token", "joules_per_token_chip", "joules_per_token_node",
                         "joules_per_token_facility"),
}
METRIC_KIND = {m: k for k, ms in KIND_METRICS.items() for m in ms}


def laplace_covariance(loss, z_hat, n_rows: float, sse: float, n_params: int | None = None) -> np.ndarray:
    """``2 s^2 / n * inverse(hessian(loss)(z_hat))`` with ``s^2 = sse / max(n - p, 1)``.

    Args:
        loss: scalar ``L(z)`` of a flat vector z (SSE / n plus any prior), traceable.
        z_hat: the optimum, shape (p,).
        n_rows: n, the (weighted) number of rows in SSE.
        sse: the sum of squared residuals at z_hat.
        n_params: p for the degrees of freedom (default ``len(z_hat)``).

    Returns:
        (p, p) covariance, symmetric positive definite (eigenvalues of H below 1e-12 of the
        largest are raised to it: a direction the data leave flat gets a large variance, never
        a negative one).
    """
    z_hat = jnp.asarray(z_hat)
    h = np.asarray(jax.hessian(loss)(z_hat), float)
    p = h.shape[0] if n_params is None else n_params
    return covariance_from_hessian(h, n_rows, sse, p)


def covariance_from_hessian(h, n_rows: float, sse: float, n_params: int) -> np.ndarray:
    """:func:`laplace_covariance` from a computed Hessian (numpy)."""
    h = np.asarray(h, float)
    if h.size == 0:
        return np.zeros((0, 0))
    h = 0.5 * (h + h.T)
    s2 = residual_variance(sse, n_rows, n_params)
    vals, vecs = np.linalg.eigh(h)
    vals = np.maximum(vals, max(float(np.max(np.abs(vals))), 1e-30) * 1e-12)
    return (2.0 * s2 / max(float(n_rows), 1.0)) * (vecs / vals) @ vecs.T


def residual_variance(sse: float, n_rows: float, n_params: int) -> float:
    """s^2 = SSE / (n - p), with at least one degree of freedom."""
    return float(sse) / max(float(n_rows) - n_params, 1.0)


def sd_and_correlation(cov) -> tuple[np.ndarray, np.ndarray]:
    """Standard deviations and correlation matrix of a covariance."""
    cov = np.asarray(cov, float)
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    safe = np.where(sd > 0, sd, 1.0)
    corr = cov / np.outer(safe, safe)
    np.fill_diagonal(corr, 1.0)
    return sd, np.clip(corr, -1.0, 1.0)


def covariance_of(sd, corr) -> np.ndarray:
    """Inverse of :func:`sd_and_correlation`."""
    sd = np.asarray(sd, float)
    return np.asarray(corr, float) * np.outer(sd, sd)


def normal_quantile(q: float) -> float:
    """Phi^-1(q) of the standard normal (bisection on erf; |error| < 1e-12)."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 0.5 * (1.0 + math.erf(mid / math.sqrt(2.0))) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def sample_normal(key, mean, cov, k: int) -> jnp.ndarray:
    """k draws of N(mean, cov), shape (k, p) (matrix square root by eigendecomposition)."""
    mean = np.asarray(mean, float)
    cov = np.asarray(cov, float)
    if mean.size == 0:
        return jnp.zeros((k, 0))
    vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    root = vecs * np.sqrt(np.maximum(vals, 0.0))
    eps = jax.random.normal(key, (k, mean.size))
    return jnp.asarray(mean) + eps @ jnp.asarray(root.T)


def quantile_interval(samples, level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) empirical quantiles ((1 - level) / 2, (1 + level) / 2) along ``axis``."""
    s = np.asarray(samples, float)
    return (np.quantile(s, 0.5 * (1.0 - level), axis=axis), np.quantile(s, 0.5 * (1.0 + level), axis=axis))


def linear_interval(center, jac, cov, level: float) -> tuple[np.ndarray, np.ndarray]:
    """center -/+ Phi^-1((1 + level) / 2) sqrt(J Sigma J^T): the linearised interval (jax.jacfwd
    gives J). Exact for a metric linear in the parameters."""
    jac = np.atleast_2d(np.asarray(jac, float))
    sd = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", jac, np.asarray(cov, float), jac), 0.0))
    half = normal_quantile(0.5 * (1.0 + level)) * sd
    c = np.asarray(center, float)
    return c - half.reshape(c.shape), c + half.reshape(c.shape)


def coverage(measured, lower, upper, kinds) -> dict:
    """``{kind: {"n", "inside", "fraction"}, "overall": {...}}``: how many measured values lie in
    [lower, upper] (NaN bounds count as outside)."""
    y, lo, hi = (np.asarray(a, float) for a in (measured, lower, upper))
    inside = (y >= lo) & (y <= hi)
    kinds = np.asarray(kinds)
    out = {}
    for k in dict.fromkeys(kinds.tolist()):
        sel = kinds == k
        out[k] = {"n": int(sel.sum()), "inside": int(inside[sel].sum()), "fraction": float(inside[sel].mean())}
    out["overall"] = {"n": int(y.size), "inside": int(inside.sum()),
                      "fraction": float(inside.mean()) if y.size else float("nan")}
    return out


def kind_residual_sd(log_residuals, kinds, weights, n_params: int) -> dict:
    """``{kind: s_k}``: root mean squared log residual of the fitted rows of each metric class,
    scaled by sqrt(n / (n - p)) for the degrees of freedom the fit used."""
    r, w, kinds = np.asarray(log_residuals, float), np.asarray(weights, float), np.asarray(kinds)
    n = float(w.sum())
    dof = math.sqrt(n / max(n - n_params, 1.0)) if n > 0 else 1.0
    out = {}
    for k in dict.fromkeys(kinds.tolist()):
        sel = (kinds == k) & (w > 0)
        out[k] = float(np.sqrt(np.mean(r[sel] ** 2)) * dof) if sel.any() else float("nan")
    return out


def sample_calibrated_theta(chip, family_entry: dict, key, k: int, where: str = "fitted document") -> np.ndarray:
    """k parameter rows for :func:`codesign.calibration.params.apply` on a chip that already
    carries the fitted values of its family: the parameters of ``family_entry["uncertainty"]``
    drawn from their posterior (Gaussian in z, mapped into the bounds), as a ratio to the fitted
    value for a multiplier and as the value for an absolute; every other parameter unchanged.

    Raises:
        ConfigError: the entry has no uncertainty block, or names a parameter params.py does not
            define (a fitted file from another version: rerun ``codesign calibrate``).
    """
    from ..errors import ConfigError  # noqa: PLC0415
    from . import params as P  # noqa: PLC0415

    u = family_entry.get("uncertainty")
    if not isinstance(u, dict):
        raise ConfigError(f"{where}: no uncertainty block (rerun `codesign calibrate`)")
    unknown = [n for n in u["params"] if n not in P.NAMES]
    if unknown:
        raise ConfigError(f"{where}: uncertainty.params names {unknown[0]!r}; known: {', '.join(P.NAMES)} "
                          "(rerun `codesign calibrate`)")
    j = np.array([P.NAMES.index(n) for n in u["params"]], int)
    theta = np.tile(P.identity_theta(chip), (k, 1))
    if j.size == 0:
        return theta
    draw = np.asarray(sample_normal(key, u["z"], covariance_of(u["sd_z"], u["correlation"]), k), float)
    z = np.tile(P.to_unconstrained(P.init_theta()), (k, 1))
    z[:, j] = draw
    phys = np.asarray(P.to_physical(jnp.asarray(z)), float)[:, j]
    fitted = np.array([float(family_entry["values"][n]["value"]) for n in u["params"]])
    mult = np.array([P.PARAMS[i].kind == "multiplier" for i in j])
    theta[:, j] = np.where(mult, phys / fitted, phys)
    return theta
