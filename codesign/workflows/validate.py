"""Predictions vs published measurements: the report ``codesign validate --json`` prints."""
from typing import NamedTuple

from ..config.calibrated import load_fitted
from ..config.measurements import Dataset, load_dataset
from ..validation import predict_cases, results, summarize


class Validation(NamedTuple):
    report: dict  # see validation_report
    results: list  # codesign.validation.Result per expressed row
    dataset: Dataset  # with ``issues`` (rows skipped, mapping entries rejected) for the caller to show
    plot: str | None = None  # the parity plot written (a directory or extension-less path resolved), or None


def validation_report(data: Dataset, res: list, calibrated: bool) -> dict:
    """Everything validate reports, as plain data (SI units)."""
    skipped = sum(1 for i in data.issues if i.line)  # issues tied to a row (the others: mapping entries)
    return {
        "calibrated": calibrated,
        "files": data.files,
        "counts": {"rows": len(res) + len(data.inexpressible) + skipped, "expressed": len(res),
                   "inexpressible": len(data.inexpressible), "skipped": skipped,
                   "mapping_issues": len(data.issues) - skipped},
        "rows": [r.to_dict() for r in res],
        "summary": {"by_system": summarize(res, "hardware"), "by_metric": summarize(res, "kind")},
        "inexpressible": [{"id": x.row.id, "where": x.row.where, "system": x.row.system,
                           "metric": x.row.metric, "reason": x.reason} for x in data.inexpressible],
        "issues": [{"file": i.file, "line": i.line, "id": i.id, "message": i.message} for i in data.issues],
    }


def run_validate(data=None, mapping=None, calibrated: bool = False, dataset: Dataset | None = None,
                 plot=None) -> Validation:
    """Predict every measurement row the model can express.

    Args:
        data: measurement CSV paths (default: the shipped dataset); ignored with ``dataset``.
        mapping: row -> evaluation mapping YAML (default: the shipped one).
        calibrated: use the fitted values (a missing or malformed fitted file is one error).
        dataset: an already loaded dataset (its ``calibrated`` must match).
        plot: path of a parity plot (PNG, log axes) to write, or None; a directory gets
            ``parity.png``, a path without an extension ``.png`` (``Validation.plot`` says which).
    """
    if plot:
        from ..plots import check_plot_path  # noqa: PLC0415 (matplotlib only when plotting)
        plot = check_plot_path(plot, "parity.png")  # before the predictions: refuse out.xyz at once
    if dataset is None:
        if calibrated:
            load_fitted()  # a missing or malformed fitted file is one clear error, not one per row
        dataset = load_dataset(data, mapping, calibrated=calibrated)
    res = results(dataset.cases, predict_cases(dataset.cases))
    if plot:
        from ..plots import parity_plot  # noqa: PLC0415 (matplotlib only when plotting)
        label = "calibrated" if calibrated else "uncalibrated presets"
        plot = parity_plot(res, plot, f"codesign validate: predicted vs measured ({label})")
    report = validation_report(dataset, res, calibrated)
    if plot:
        report["plot"] = plot
    return Validation(report, res, dataset, plot)
