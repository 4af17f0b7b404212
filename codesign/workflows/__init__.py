"""Edge library: everything the ``codesign`` command does, as functions a notebook, an
experiment script or a benchmark calls directly (the CLI is a thin caller of these).

    import codesign as cd
    out = cd.workflows.run_optimize("configs/experiments/what_lpu.yaml", method="grid")
    res = cd.workflows.run_pareto(cfg, out_dir="out/front", progress=print)
    run = cd.workflows.run_sweep(cfg, "out/sweep")            # resumable; the same call continues it

No argparse and no printing here: arguments are named like the config keys, errors are
:class:`codesign.errors.ConfigError` naming the argument, long runs take a ``progress``
callback receiving :class:`codesign.progress.Progress`. Files are written only where an
output path is given.
"""
from .disaggregated import evaluate_disaggregated_request, is_disaggregated
from .calibrate import Calibration, check_fit_arguments, loss_checkpoints, prediction_rows, run_calibrate
from .devices import configure_jax, default_cache_dir
from .evaluate import evaluate_request, hardware_rows, model_rows, null_reasons, parse_batch, presets, result_dict
from .optimize import objective_unit, run_optimize
from .pareto import ParetoRun, front_rows, run_pareto, search_front, write_table
from .references import evaluate_references
from .serve import build_setup, curve, max_rate, run_serve
from .settings import EXTRA_KEYS, SEARCH_KEYS, objective_value, parse_experiment_problem, search_settings
from .sweep import SweepReport, check_shard, merge_sweeps, run_sweep, sweep_report
from .validate import Validation, run_validate, validation_report

__all__ = [
    "evaluate_disaggregated_request", "is_disaggregated",
    "Calibration", "EXTRA_KEYS", "ParetoRun", "SEARCH_KEYS", "SweepReport", "Validation", "build_setup",
    "check_fit_arguments", "curve", "max_rate", "run_serve",
    "check_shard", "configure_jax", "default_cache_dir", "evaluate_references", "evaluate_request", "front_rows",
    "hardware_rows", "loss_checkpoints", "merge_sweeps", "model_rows", "null_reasons", "objective_unit", "objective_value",
    "parse_batch", "parse_experiment_problem", "prediction_rows", "presets", "result_dict", "run_calibrate",
    "run_optimize", "run_pareto", "run_sweep", "run_validate", "search_front", "search_settings", "sweep_report",
    "validation_report", "write_table",
]
