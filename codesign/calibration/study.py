"""A calibration study: the full fit, leave-one-out, hold-out-system and hold-out-family fits,
in one compiled, vmapped call, the errors each implies, and the uncertainty of each fit.

* **In-sample**: fit every row, predict every row.
* **Leave-one-out (LOO)**: for each row i, fit without it and predict it.
* **Hold-out system**: for each hardware preset s, fit without all rows of s and predict them
  (a family whose every row is held out keeps its start values: the prediction is then
  effectively uncalibrated, which is what the model offers for a system it has never seen).
  This is the headline error.
* **Hold-out family**: the same with every system of a calibration family held out (for a
  family of one system, the hold-out-system fit).

Every fit also gets a Laplace posterior (:mod:`codesign.calibration.uncertainty`): a Gaussian
over its constrained parameters in the unconstrained space, plus the residual scatter per
metric class. Sampling it gives each row held out with its system (or family) a prediction
interval from the fit without it, and **coverage** is
the fraction of held-out measurements inside their interval (for an honest 80% interval:
about 80%).

Error of a prediction: APE = |predicted / measured - 1|; summaries are per metric class
(median, max). Pure: no files, no printing.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ..validation.report import ape_summary
from . import fit as F
from . import params as P
from . import uncertainty as U

#: Interval level of the coverage study and of the reports (80%).
LEVEL = 0.8
#: Parameter samples per fit for the prediction intervals.
SAMPLES = 200


@dataclasses.dataclass(frozen=True)
class Posterior:
    """Laplace posterior of one fit (see :mod:`codesign.calibration.uncertainty`)."""

    z: np.ndarray  # (F, P) unconstrained optimum
    mask: np.ndarray  # (F, P) bool: constrained by the fit's rows (sampled; the others stay at z)
    cov: np.ndarray  # (m, m) covariance of z[mask] (row-major order of the mask)
    residual_variance: float  # s^2 of the log errors
    dof: float  # n - p
    kind_sd: dict  # metric class -> residual sd of the log errors (s_k)
    sensitivity: np.ndarray  # (F, P) of the fit (codesign.calibration.fit.sensitivity)

    def block(self, f: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices of the constrained parameters of family f, their covariance block)."""
        flat = np.flatnonzero(self.mask.ravel())
        sel = np.array([i // self.mask.shape[1] == f for i in flat], bool)
        j = flat[sel] % self.mask.shape[1]
        return j, self.cov[np.ix_(sel, sel)]


@dataclasses.dataclass(frozen=True)
class Study:
    problem: F.Problem
    full: F.FitResult
    loo_pred: np.ndarray  # (n,) each row predicted by the fit without it
    loo_converged: np.ndarray  # (n,) bool
    holdout_pred: np.ndarray  # (n,) each row predicted by the fit without its system
    holdout_converged: dict  # system -> bool
    unconstrained: np.ndarray  # (F, P) bool: no fitted row is sensitive to it
    steps: int
    learning_rate: float
    prior_weight: float
    family_pred: np.ndarray = None  # (n,) each row predicted by the fit without its family
    family_converged: dict = None  # family -> bool
    posterior: Posterior | None = None  # of the full fit
    intervals: dict = None  # {holdout: (lower (n,), upper (n,))} at LEVEL
    level: float = LEVEL

    @property
    def measured(self) -> np.ndarray:
        return np.exp(self.problem.log_measured.astype(float))

    @property
    def in_sample_pred(self) -> np.ndarray:
        return np.exp(self.full.log_pred.astype(float))

    def predictions(self) -> dict:
        """``{"in_sample" | "leave_one_out" | "hold_out_system" | "hold_out_family": (n,)}``."""
        out = {"in_sample": self.in_sample_pred, "leave_one_out": self.loo_pred,
               "hold_out_system": self.holdout_pred}
        if self.family_pred is not None:
            out["hold_out_family"] = self.family_pred
        return out

    def errors(self) -> dict:
        """``{"in_sample" | "leave_one_out" | "hold_out_system" | "hold_out_family":
        {kind: {n, median_ape, max_ape}}}``."""
        k = self.problem.kinds
        return {name: ape_summary(self.measured, pred, k) for name, pred in self.predictions().items()}

    def holdout_by_system(self) -> dict:
        """``{system: {kind: {n, median_ape, max_ape}}}`` for the hold-out-system fits."""
        hw = self.problem.hardware
        return {s: ape_summary(self.measured[hw == s], self.holdout_pred[hw == s], self.problem.kinds[hw == s])
                for s in dict.fromkeys(hw.tolist())}

    def coverage(self) -> dict:
        """``{holdout: {kind | "overall": {n, inside, fraction}}}``: held-out measurements inside
        their interval at :attr:`level` (empty without cross-validation)."""
        return {name: U.coverage(self.measured, lo, hi, self.problem.kinds)
                for name, (lo, hi) in (self.intervals or {}).items()}

    def values(self) -> dict:
        """``{family: {param: value}}`` of the full fit, constrained parameters only."""
        out = {}
        for f, fam in enumerate(self.problem.families):
            out[fam] = {p.name: float(self.full.theta[f, j]) for j, p in enumerate(P.PARAMS)
                        if not self.unconstrained[f, j]}
        return out


def posteriors(problem: F.Problem, fits: list, weights: np.ndarray, prior_weight: float) -> list[Posterior]:
    """The Laplace posterior of each fit (``fits[k]`` fitted with ``weights[k]``)."""
    weights = np.asarray(weights, float)
    sens, hess = F.curvature(problem, np.stack([f.theta for f in fits]), np.stack([f.z for f in fits]),
                             weights, prior_weight)
    y = problem.log_measured.astype(float)
    out = []
    for k, fit_k in enumerate(fits):
        mask = sens[k] >= F.SENSITIVITY_TOL
        idx = np.flatnonzero(mask.ravel())
        w = weights[k]
        r = fit_k.log_pred.astype(float) - y
        n, p = float(w.sum()), int(idx.size)
        sse = float(np.sum(w * r ** 2))
        cov = U.covariance_from_hessian(hess[k][np.ix_(idx, idx)], n, sse, p)
        out.append(Posterior(fit_k.z.astype(float), mask, cov, U.residual_variance(sse, n, p), max(n - p, 1.0),
                             U.kind_residual_sd(r, problem.kinds, w, p), sens[k]))
    return out


def sample_log_predictions(problem: F.Problem, posts: list[Posterior], samples: int = SAMPLES, seed: int = 0,
                           residual: bool = True) -> np.ndarray:
    """ln predictions of every row under each posterior: (k, samples, n); parameters drawn from
    the posterior in the unconstrained space, plus (``residual``) the residual scatter of the
    row's metric class (the pooled s where the fit saw no row of that class)."""
    key = jax.random.PRNGKey(seed)
    zs = []
    for k, post in enumerate(posts):
        zk = np.broadcast_to(post.z, (samples,) + post.z.shape).copy()
        draw = np.asarray(U.sample_normal(jax.random.fold_in(key, k), post.z[post.mask], post.cov, samples))
        zk[:, post.mask] = draw
        zs.append(zk)
    zs = jnp.asarray(np.concatenate(zs), jnp.float32)

    def one(z):
        return jnp.log(problem.predict(P.to_physical(z))["value"])

    logp = np.asarray(jax.jit(jax.vmap(one))(zs), float)
    logp = logp.reshape(len(posts), samples, problem.n)
    if residual:
        kinds = problem.kinds
        noise = np.asarray(jax.random.normal(jax.random.fold_in(key, 10_000), logp.shape), float)
        for k, post in enumerate(posts):
            pooled = float(np.sqrt(post.residual_variance))
            sd = np.array([post.kind_sd.get(c, np.nan) for c in kinds], float)
            logp[k] += noise[k] * np.where(np.isfinite(sd), sd, pooled)
    return logp


def run_study(problem: F.Problem, steps: int = 1500, learning_rate: float = 0.05,
              prior_weight: float = 1e-3, cross_validate: bool = True, level: float = LEVEL,
              samples: int = SAMPLES, seed: int = 0) -> Study:
    """Full fit (+ LOO, hold-out-system and hold-out-family fits unless ``cross_validate`` is
    false), the Laplace posterior of the full fit, and (with cross-validation) the prediction
    interval at ``level`` of every held-out row from its fit's posterior (``samples`` draws)."""
    n = problem.n
    hw = problem.hardware
    systems = list(dict.fromkeys(hw.tolist()))
    fam_of = np.array([problem.families[i] for i in problem.family_index])
    groups = [f for f in problem.families if len(set(hw[fam_of == f].tolist())) > 1]  # else = a system fold
    weights = [np.ones(n)]
    if cross_validate:
        weights += [1.0 - np.eye(n)[i] for i in range(n)]
        weights += [(hw != s).astype(float) for s in systems]
        weights += [(fam_of != f).astype(float) for f in groups]
    weights = np.array(weights)
    fits = F.fit_many(problem, weights, steps, learning_rate, prior_weight, sensitivities=False)
    # Posteriors of the full fit and of the folds whose intervals are checked (system, family).
    post_idx = [0] + (list(range(1 + n, len(fits))) if cross_validate else [])
    posts = dict(zip(post_idx, posteriors(problem, [fits[i] for i in post_idx], weights[post_idx], prior_weight)))
    full = dataclasses.replace(fits[0], sensitivity=posts[0].sensitivity)
    unconstrained = full.sensitivity < F.SENSITIVITY_TOL
    nan = np.full(n, np.nan)
    if not cross_validate:
        return Study(problem, full, nan, np.zeros(n, bool), nan.copy(), {}, unconstrained, steps, learning_rate,
                     prior_weight, nan.copy(), {}, posts[0], {}, level)
    # Fold of each row in each hold-out scheme (index into fits).
    fold = {"leave_one_out": 1 + np.arange(n),
            "hold_out_system": np.array([1 + n + systems.index(h) for h in hw]),
            "hold_out_family": np.array([1 + n + len(systems) + groups.index(f) if f in groups
                                         else 1 + n + systems.index(h) for f, h in zip(fam_of, hw)])}
    log_pred = np.stack([f.log_pred for f in fits]).astype(float)
    pred = {k: np.exp(log_pred[idx, np.arange(n)]) for k, idx in fold.items()}
    checked = [k for k in fold if k != "leave_one_out"]  # LOO: 1 fit per row, no posterior
    needed = sorted(set(np.concatenate([fold[k] for k in checked]).tolist()))
    draws = sample_log_predictions(problem, [posts[i] for i in needed], samples, seed)
    lo, hi = U.quantile_interval(draws, level, axis=1)  # (len(needed), n)
    pos = {i: j for j, i in enumerate(needed)}
    rows = np.arange(n)
    intervals = {k: (np.exp(lo[[pos[i] for i in fold[k]], rows]), np.exp(hi[[pos[i] for i in fold[k]], rows]))
                 for k in checked}
    loo_ok = np.array([fits[1 + i].converged for i in range(n)])
    hold_ok = {s: fits[1 + n + j].converged for j, s in enumerate(systems)}
    fam_ok = {f: (fits[1 + n + len(systems) + groups.index(f)].converged if f in groups
                  else all(hold_ok[h] for h in set(hw[fam_of == f].tolist()))) for f in problem.families}
    return Study(problem, full, pred["leave_one_out"], loo_ok, pred["hold_out_system"], hold_ok, unconstrained,
                 steps, learning_rate, prior_weight, pred["hold_out_family"], fam_ok, posts[0], intervals, level)

def fitted_document(study: Study, dataset: dict, fit_date: str) -> dict:
    """The content of ``codesign/presets/calibration/fitted.yaml`` (the caller writes it).

    Args:
        dataset: ``{"measurements": [{"path", "sha256"}], "mapping": {"path", "sha256"}}``.
        fit_date: ISO date of the fit.
    """
    prob, full = study.problem, study.full
    families = {}
    for f, fam in enumerate(prob.families):
        hw = sorted({c.hardware for c, i in zip(prob.cases, prob.family_index) if i == f})
        values, unconstrained = {}, []
        for j, p in enumerate(P.PARAMS):
            if study.unconstrained[f, j]:
                unconstrained.append(p.name)
                continue
            values[p.name] = {"value": round(float(full.theta[f, j]), 5), "kind": p.kind,
                              "bounds": [p.lo, p.hi], "fields": list(p.fields), "label": "fitted",
                              "at_bound": bool(full.at_bound[f, j]),
                              "sensitivity": round(float(full.sensitivity[f, j]), 4)}
        families[fam] = {"hardware": hw, "rows": int(np.sum(prob.family_index == f)), "values": values,
                         "unconstrained": unconstrained}
        if study.posterior is not None:
            u = families[fam]["uncertainty"] = family_uncertainty(study.posterior, f)
            for name, (lo, hi) in marginal_intervals(u, study.level).items():
                values[name][f"interval_{round(100 * study.level)}"] = [round(lo, 5), round(hi, 5)]
    return {
        "label": "fitted",
        "note": ("FITTED values, not physical constants: efficiency factors and fixed overheads per "
                 "hardware family, fitted by `codesign calibrate` to the dataset below. Applied only "
                 "when asked (load_hardware(name, calibrated=True), codesign evaluate --calibrated)."),
        "fit_date": fit_date,
        "dataset": dataset | {"rows_fitted": prob.n},
        "fit": {"steps": study.steps, "learning_rate": study.learning_rate,
                "prior_weight": study.prior_weight, "loss": round(full.loss, 6),
                "grad_max": float(full.grad_max), "converged": full.converged, "message": full.message,
                "loo_folds_not_converged": int(np.sum(~study.loo_converged)),
                "holdout_fits_not_converged": sorted(s for s, ok in study.holdout_converged.items() if not ok)},
        "errors": _round(study.errors()),
        "hold_out_system": _round(study.holdout_by_system()),
        "uncertainty": uncertainty_summary(study),
        "families": families,
    }


def family_uncertainty(post: Posterior, f: int) -> dict:
    """One family's posterior as stored in the fitted file: the constrained parameters (in
    PARAMS order), their unconstrained values z, standard deviations of z and correlations."""
    j, cov = post.block(f)
    sd, corr = U.sd_and_correlation(cov)
    return {"params": [P.PARAMS[i].name for i in j], "z": [round(float(post.z[f, i]), 6) for i in j],
            "sd_z": [float(f"{x:.6g}") for x in sd],
            "correlation": [[round(float(c), 6) for c in row] for row in corr]}


def marginal_intervals(u: dict, level: float) -> dict:
    """``{param: (lower, upper)}``: each parameter's own interval at ``level``, z -/+ q sd_z
    mapped into its bounds (monotone, so the quantiles of the physical value)."""
    q = U.normal_quantile(0.5 * (1.0 + level))
    out = {}
    for name, z, sd in zip(u["params"], u["z"], u["sd_z"]):
        j = P.NAMES.index(name)
        base = np.tile(P.to_unconstrained(P.init_theta()), (2, 1))
        base[:, j] = (z - q * sd, z + q * sd)
        lo, hi = np.asarray(P.to_physical(jnp.asarray(base)), float)[:, j]
        out[name] = (float(lo), float(hi))
    return out


def uncertainty_summary(study: Study) -> dict:
    """The fitted file's ``uncertainty`` block: method, residual scatter, coverage."""
    post = study.posterior
    return {
        "method": ("laplace: covariance of the unconstrained parameters z = 2 s^2 / n x inverse Hessian of the "
                   "fit loss (jax.hessian), s^2 = residual variance of the log errors (codesign.calibration."
                   "uncertainty); intervals sample z from it and add the residual scatter of the metric class"),
        "space": "unconstrained z of codesign.calibration.params (theta = to_physical(z), inside the bounds)",
        "residual_variance_log": round(post.residual_variance, 6),
        "dof": round(post.dof, 3),
        "residual_sd_log": {k: round(v, 6) for k, v in post.kind_sd.items()},
        "level": study.level,
        "coverage": _round(study.coverage()),
    }


def _round(d):
    if isinstance(d, dict):
        return {k: _round(v) for k, v in d.items()}
    return round(d, 4) if isinstance(d, float) else d
