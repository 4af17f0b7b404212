"""Intervals for every metric of a calibrated evaluation, from the fitted file's posterior.

The fitted values of the design's family are drawn from the Laplace posterior stored in the
fitted file (``families.<family>.uncertainty``, :func:`codesign.calibration.uncertainty.
sample_calibrated_theta`), the model is evaluated at every draw at once (``jax.vmap``), and
the metrics of a fitted class (per-user speed, throughput, energy per token) also carry the
fit's residual scatter in log space (``uncertainty.residual_sd_log``): the error the model
makes on rows it has seen, which no parameter removes. The interval at level q is the pair of
(1 - q) / 2 and (1 + q) / 2 quantiles of the draws.
"""
import jax
import numpy as np

from ..calibration import params as P
from ..calibration import uncertainty as U
from ..config.calibrated import fitted_path, load_fitted
from ..model import evaluate
from ..model.evaluate import METRIC_NAMES

SAMPLES = 400
_CACHE = {}


def _vmapped():
    if "fn" not in _CACHE:
        def one(chip, system, w, m, sc, theta):
            c, s = P.apply(chip, system, theta)
            return evaluate(c, s, w, m, sc)

        _CACHE["fn"] = jax.jit(jax.vmap(one, in_axes=(None, None, None, None, None, 0)))
    return _CACHE["fn"]


def metric_intervals(design, level: float, boundary: str = "node", samples: int = SAMPLES, seed: int = 0,
                     fitted: dict | None = None) -> dict:
    """``{"available": True, "level", "method", "samples", "bounds": {metric: [lower, upper]}, ...}``
    for a design built with ``calibrated: true``; ``{"available": False, "reason"}`` when the
    fitted file carries no uncertainty for the design's family. ``joules_per_token`` is at
    ``boundary``."""
    doc = load_fitted() if fitted is None else fitted
    family = design.hardware.family
    entry = doc["families"].get(family, {})
    resid = (doc.get("uncertainty") or {}).get("residual_sd_log")
    if not isinstance(entry.get("uncertainty"), dict) or not isinstance(resid, dict):
        return {"available": False, "level": level,
                "reason": (f"intervals unavailable: the fitted file ({fitted_path().name}) has no uncertainty for family "
                           f"{family}; rerun `codesign calibrate --update-shipped` to store it")}
    where = f"fitted file, families.{family}"
    theta = U.sample_calibrated_theta(design.chip, entry, jax.random.PRNGKey(seed), samples, where)
    chip, system, w, m, sc = design.specs
    draws = _vmapped()(chip, system, w, m, sc, np.asarray(theta, np.float32))
    noise = np.asarray(jax.random.normal(jax.random.PRNGKey(seed + 1), (samples,)), float)
    bounds, scattered = {}, []
    for name in METRIC_NAMES:
        x = np.asarray(getattr(draws, name), float)
        kind = U.METRIC_KIND.get(name)
        sd = float(resid.get(kind, np.nan)) if kind else np.nan
        if np.isfinite(sd) and sd > 0 and np.all(x > 0):
            sign = -1.0 if name == "decode_s_per_token" else 1.0  # a time is the inverse of a speed
            x = x * np.exp(sign * sd * noise)
            scattered.append(name)
        lo, hi = U.quantile_interval(x, level)
        bounds[name] = [float(lo), float(hi)] if np.isfinite(lo) and np.isfinite(hi) else None
    if f"joules_per_token_{boundary}" in bounds:
        bounds["joules_per_token"] = bounds[f"joules_per_token_{boundary}"]
    return {"available": True, "level": level, "samples": samples, "energy_boundary": boundary,
            "method": ("fitted parameters drawn from the calibration's Laplace posterior (Gaussian in the unconstrained "
                       "space, inside the bounds) and pushed through the model; metrics of a fitted class also carry "
                       "the fit's residual scatter"),
            "sampled_params": list(entry["uncertainty"]["params"]),
            "fixed_params": list(entry.get("unconstrained", [])),
            "residual_sd_log": {k: float(v) for k, v in resid.items()},
            "with_residual_scatter": scattered, "bounds": bounds}
