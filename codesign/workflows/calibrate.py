"""Fit per-family efficiency factors and overheads to the measurement dataset, report
in-sample, leave-one-out and hold-out-system errors, and (where asked) save the fitted file."""
import datetime
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import yaml

from ..config.calibrated import fitted_path
from ..config.measurements import Dataset, display_path, load_dataset
from ..config.writing import write_file
from ..design.fields import FRACTION, INT32_MAX, Range, integer, number
from ..errors import ConfigError
from ..progress import Progress

_HEADER = ("# FITTED VALUES - written by `codesign calibrate`; do not edit by hand.\n"
           "# These are not physical constants: they are efficiency factors and fixed overheads per\n"
           "# hardware family, fitted to the dataset named below (paths + sha256). Presets stay\n"
           "# uncalibrated unless asked: load_hardware(name, calibrated=True) / --calibrated.\n")


class Calibration(NamedTuple):
    study: object  # codesign.calibration.study.Study
    document: dict  # the fitted file's content
    written: str | None  # where it was written (display path), or None
    dataset: Dataset
    plot: str | None = None  # the loss plot written, or None

    @property
    def converged(self) -> bool:
        return bool(self.study.full.converged)

    def to_dict(self) -> dict:
        """What ``codesign calibrate --json`` prints: the document, where it went, the loss
        at 11 checkpoints and every row's in-sample, leave-one-out and hold-out predictions."""
        return self.document | {"written": self.written, "loss_history": loss_checkpoints(self.study.full.loss_history),
                                "rows": prediction_rows(self.study)}


def check_fit_arguments(steps: int, learning_rate: float, prior_weight: float):
    """Refuse bad fit settings by argument name: ``steps`` an integer >= 10, ``learning_rate``
    in (0, 1], ``prior_weight`` in [0, 1)."""
    integer("steps", steps, Range(10, INT32_MAX))
    number("learning_rate", learning_rate, FRACTION)
    if number("prior_weight", prior_weight) >= 1:
        raise ConfigError(f"prior_weight = {prior_weight}; allowed: a number in [0, 1)")


def run_calibrate(data=None, mapping=None, *, dataset: Dataset | None = None, steps: int = 1500,
                  learning_rate: float = 0.05, prior_weight: float = 1e-3, cross_validate: bool = True,
                  out=None, write: bool = True, allow_unconverged: bool = False, plot=None,
                  fit_date: str | None = None, progress=None, update_shipped: bool = False) -> Calibration:
    """Fit bounded per-family parameters by adam on mean squared log error.

    Args:
        data, mapping: measurement CSVs and mapping YAML (default: the shipped dataset);
            ignored with ``dataset``.
        steps, learning_rate, prior_weight: adam steps per fit (>= 10), peak learning rate
            in (0, 1], weak pull towards the start values in [0, 1).
        cross_validate: also run the leave-one-out and hold-out-system fits.
        out: fitted file to write; None writes none, unless ``update_shipped``.
        write: write it (only if the fit converged, unless ``allow_unconverged``).
        update_shipped: write the packaged fitted file
            (:func:`codesign.config.calibrated.fitted_path`, which ``calibrated=True`` reads)
            instead of ``out``; never by default, since it is a tracked file of the package.
        plot: path of the full fit's loss history (PNG; see :func:`codesign.plots.loss_plot`), or None.
        fit_date: ISO date recorded in the file (default: today).
        progress: called with :class:`codesign.progress.Progress` before and after the fits
            (they run as one compiled batch: there is nothing to report in between).
    """
    from ..calibration import fit as F  # noqa: PLC0415 (heavy: jax tracing of the whole dataset)
    from ..calibration.study import fitted_document, run_study  # noqa: PLC0415

    check_fit_arguments(steps, learning_rate, prior_weight)
    if plot:
        from ..plots import check_plot_path  # noqa: PLC0415 (matplotlib only when plotting)
        plot = check_plot_path(plot, "loss.png")  # before the fits
    dataset = dataset if dataset is not None else load_dataset(data, mapping)
    problem = F.make_problem(dataset.cases)
    if problem.n == 0:
        raise ConfigError("no expressible rows of a fitted metric (per-user speed, throughput, energy per token)")
    fits = 1 + (problem.n + len(set(problem.hardware.tolist())) if cross_validate else 0)
    t0 = time.perf_counter()
    if progress is not None:
        progress(Progress("calibrate", 0.0, 0, fits, "fits", message=f"{fits} fits of {steps} adam steps"))
    study = run_study(problem, steps, learning_rate, prior_weight, cross_validate=cross_validate)
    if progress is not None:
        progress(Progress("calibrate", 1.0, fits, fits, "fits", elapsed_s=time.perf_counter() - t0))
    doc = fitted_document(study, dataset.files, fit_date or datetime.date.today().isoformat())
    path = fitted_path() if update_shipped else (Path(out) if out else None)
    written = None
    if path is not None and write and (study.full.converged or allow_unconverged):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot write {str(path)!r}: {e}") from None
        write_file(path, _HEADER + yaml.safe_dump(doc, sort_keys=False, width=110), "fitted file")
        written = display_path(path)
    if plot:
        from ..plots import loss_plot  # noqa: PLC0415 (matplotlib only when plotting)
        plot = loss_plot(study.full.loss_history, plot, f"codesign calibrate: full fit ({problem.n} rows)")
    return Calibration(study, doc, written, dataset, plot)


def loss_checkpoints(history, k: int = 10) -> list:
    """The loss at k + 1 evenly spaced steps (first and last included), steps 1-based."""
    idx = np.unique(np.linspace(0, len(history) - 1, k + 1).astype(int))
    return [{"step": int(i) + 1, "loss": float(history[i])} for i in idx]


def prediction_rows(study) -> list:
    """One dict per fitted measurement: measured value, the energy boundary it is compared at
    ("" for other metrics), the in-sample, leave-one-out, hold-out-system and hold-out-family
    predictions and the prediction intervals of the held-out ones (SI units, the row's metric)."""
    p = study.problem
    preds = study.predictions()
    out = []
    for i, c in enumerate(p.cases):
        row = {"id": c.row.id, "hardware": c.hardware, "kind": c.kind, "boundary": c.boundary,
               "measured": float(study.measured[i])} | {k: float(v[i]) for k, v in preds.items()}
        for k, (lo, hi) in (study.intervals or {}).items():
            row[f"{k}_interval"] = [float(lo[i]), float(hi[i])]
        out.append(row)
    return out
