"""A calibration study: the full fit, leave-one-out and hold-out-system fits, in one
compiled, vmapped call, and the errors each implies.

* **In-sample**: fit every row, predict every row.
* **Leave-one-out (LOO)**: for each row i, fit without it and predict it.
* **Hold-out system**: for each hardware preset s, fit without all rows of s and predict them
  (a family whose every row is held out keeps its start values: the prediction is then
  effectively uncalibrated, which is what the model offers for a system it has never seen).

Error of a prediction: APE = |predicted / measured - 1|; summaries are per metric class
(median, max). Pure: no files, no printing.
"""
import dataclasses

import numpy as np

from ..validation.report import ape_summary
from . import fit as F
from . import params as P


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

    @property
    def measured(self) -> np.ndarray:
        return np.exp(self.problem.log_measured.astype(float))

    @property
    def in_sample_pred(self) -> np.ndarray:
        return np.exp(self.full.log_pred.astype(float))

    def errors(self) -> dict:
        """``{"in_sample" | "leave_one_out" | "hold_out_system": {kind: {n, median_ape, max_ape}}}``."""
        k = self.problem.kinds
        return {"in_sample": ape_summary(self.measured, self.in_sample_pred, k),
                "leave_one_out": ape_summary(self.measured, self.loo_pred, k),
                "hold_out_system": ape_summary(self.measured, self.holdout_pred, k)}

    def holdout_by_system(self) -> dict:
        """``{system: {kind: {n, median_ape, max_ape}}}`` for the hold-out-system fits."""
        hw = self.problem.hardware
        return {s: ape_summary(self.measured[hw == s], self.holdout_pred[hw == s], self.problem.kinds[hw == s])
                for s in dict.fromkeys(hw.tolist())}

    def values(self) -> dict:
        """``{family: {param: value}}`` of the full fit, constrained parameters only."""
        out = {}
        for f, fam in enumerate(self.problem.families):
            out[fam] = {p.name: float(self.full.theta[f, j]) for j, p in enumerate(P.PARAMS)
                        if not self.unconstrained[f, j]}
        return out


def run_study(problem: F.Problem, steps: int = 1500, learning_rate: float = 0.05,
              prior_weight: float = 1e-3, cross_validate: bool = True) -> Study:
    """Full fit (+ LOO and hold-out-system fits unless ``cross_validate`` is false)."""
    n = problem.n
    systems = list(dict.fromkeys(problem.hardware.tolist()))
    weights = [np.ones(n)]
    if cross_validate:
        weights += [1.0 - np.eye(n)[i] for i in range(n)]
        weights += [(problem.hardware != s).astype(float) for s in systems]
    fits = F.fit_many(problem, np.array(weights), steps, learning_rate, prior_weight, sensitivities=False)
    full = fits[0]
    sens = F.sensitivity(problem, full.theta[None], np.ones((1, n)))[0]
    full = dataclasses.replace(full, sensitivity=sens)
    unconstrained = sens < F.SENSITIVITY_TOL
    if cross_validate:
        loo = np.array([np.exp(fits[1 + i].log_pred[i]) for i in range(n)], float)
        loo_ok = np.array([fits[1 + i].converged for i in range(n)])
        hold = np.zeros(n)
        hold_ok = {}
        for j, s in enumerate(systems):
            rows = problem.hardware == s
            hold[rows] = np.exp(fits[1 + n + j].log_pred[rows])
            hold_ok[s] = fits[1 + n + j].converged
    else:
        loo, loo_ok, hold, hold_ok = np.full(n, np.nan), np.zeros(n, bool), np.full(n, np.nan), {}
    return Study(problem, full, loo, loo_ok, hold, hold_ok, unconstrained, steps, learning_rate, prior_weight)


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
        "families": families,
    }


def _round(d):
    if isinstance(d, dict):
        return {k: _round(v) for k, v in d.items()}
    return round(d, 4) if isinstance(d, float) else d
