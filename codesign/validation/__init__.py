"""Validation against published measurements: parse rows, map them to model evaluations,
predict, and report errors. File reading is left to the caller (CLI, experiments)."""
from .dataset import COLUMNS, Issue, Row, merge, parse_measurements
from .mapping import FITTED_KINDS, METRICS, MODES, Case, Inexpressible, build_cases
from .predict import make_predictor, predict_cases
from .report import Result, ape_summary, results, summarize

__all__ = ["COLUMNS", "Issue", "Row", "merge", "parse_measurements", "FITTED_KINDS", "METRICS",
           "MODES", "Case", "Inexpressible", "build_cases", "make_predictor", "predict_cases",
           "Result", "ape_summary", "results", "summarize"]
