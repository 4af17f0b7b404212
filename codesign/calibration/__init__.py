"""Calibration: fit per-family efficiency factors and fixed overheads to measurements by
gradient descent (optax adam on mean squared log error), with leave-one-out and
hold-out-system estimates of the error on data the fit has not seen.

``params`` and ``apply`` are light (specs only): ``apply_calibration`` is what the preset loader
uses to apply a fitted file; ``fit`` is imported on demand.
"""
from .apply import apply_calibration, check_fitted
from .params import NAMES, PARAMS, Param, apply, apply_values

__all__ = ["NAMES", "PARAMS", "Param", "apply", "apply_calibration", "apply_values", "check_fitted"]
