"""Calibration: fit per-family efficiency factors and fixed overheads to measurements by
gradient descent (optax adam on mean squared log error), with leave-one-out and
hold-out-system estimates of the error on data the fit has not seen.

``params`` is light (specs only) and is what the preset loader uses to apply a fitted file;
``fit`` is imported on demand.
"""
from .params import FAMILIES, NAMES, PARAMS, Param, apply, apply_values, family_of

__all__ = ["FAMILIES", "NAMES", "PARAMS", "Param", "apply", "apply_values", "family_of"]
