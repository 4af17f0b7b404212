"""Read the fitted calibration file (``presets/calibration/fitted.yaml``, written by
``codesign calibrate --update-shipped``) and apply it to a preset with :func:`codesign.calibration.apply_calibration`.
Presets stay uncalibrated unless this is asked for.
"""
import math
from pathlib import Path

from ..calibration.apply import apply_calibration, check_fitted
from ..design import Hardware
from ..design.fields import Range, check_spec, number
from ..errors import ConfigError
from .experiment import read_yaml
from .files import presets_dir

FITTED_FILE = ("calibration", "fitted.yaml")


def fitted_path() -> Path:
    """The packaged fitted file (in an editable install: the source tree's)."""
    return presets_dir().joinpath(*FITTED_FILE)


def load_fitted(path=None) -> dict:
    """The fitted file as a dict, checked for the keys the loader needs and for a number
    (:func:`codesign.design.fields.number`) in every fitted value."""
    path = fitted_path() if path is None else Path(path)
    if not path.is_file():
        raise ConfigError(f"no calibration file {path}; run `codesign calibrate --update-shipped` first")
    data = check_fitted(read_yaml(path, "calibration file", mapping=False), str(path))
    for fam, entry in data["families"].items():
        where = f"calibration file {str(path)!r}: families.{fam}"
        if not isinstance(entry, dict) or not isinstance(entry.get("values", {}), dict) \
                or not isinstance(entry.get("hardware", []), list):
            raise ConfigError(f"{where}: expected a mapping with hardware: [names] and values: "
                              "{param: {value: number}} (rerun `codesign calibrate --update-shipped`)")
        for name, v in entry.get("values", {}).items():
            if not isinstance(v, dict) or "value" not in v:
                raise ConfigError(f"{where}.values.{name}: expected {{value: number, ...}}, got {v!r}")
            number(f"{where}.values.{name}.value", v["value"])
        if "uncertainty" in entry:
            check_uncertainty(entry["uncertainty"], entry.get("values", {}), f"{where}.uncertainty")
    return data


def check_uncertainty(u, values: dict, where: str) -> dict:
    """A family's ``uncertainty`` block (written by ``codesign calibrate``): ``params`` (names of
    fitted ``values``), ``z`` (finite), ``sd_z`` (finite, >= 0) of the same length and a symmetric
    ``correlation`` matrix with unit diagonal and entries in [-1, 1]; else ConfigError naming
    the field."""
    import numpy as np  # noqa: PLC0415

    if not isinstance(u, dict) or not all(k in u for k in ("params", "z", "sd_z", "correlation")):
        raise ConfigError(f"{where}: expected params, z, sd_z and correlation (rerun `codesign calibrate`)")
    names = u["params"]
    if not isinstance(names, list) or any(n not in values for n in names):
        raise ConfigError(f"{where}.params = {names!r}; allowed: a list of the family's fitted values "
                          f"({', '.join(values) or 'none'})")
    k = len(names)
    for key in ("z", "sd_z"):
        if not isinstance(u[key], list) or len(u[key]) != k:
            raise ConfigError(f"{where}.{key}: expected {k} numbers (one per params entry), got {u[key]!r}")
        for i, x in enumerate(u[key]):
            number(f"{where}.{key}[{i}]", x, Range(-math.inf) if key == "z" else Range())
    c = u["correlation"]
    try:
        corr = np.array(c, float)
    except (TypeError, ValueError):
        corr = None
    if corr is None or corr.shape != (k, k) or not np.all(np.isfinite(corr)) or np.any(np.abs(corr) > 1 + 1e-9) \
            or not np.allclose(corr, corr.T, atol=1e-6) or not np.allclose(np.diag(corr), 1.0, atol=1e-6):
        raise ConfigError(f"{where}.correlation: expected a symmetric {k} x {k} matrix, unit diagonal, entries in "
                          f"[-1, 1]; got {c!r}")
    return u


def load_calibrated(hw: Hardware, path=None) -> Hardware:
    """``hw`` with its family's fitted values from ``path`` (default: the packaged file);
    every field of the result must lie in its range (:func:`codesign.design.fields.check_spec`)."""
    path = fitted_path() if path is None else Path(path)
    out = apply_calibration(hw, load_fitted(path), str(path))
    where = f"{hw.name} calibrated by {str(path)!r}"
    check_spec(out.chip, f"{where}: chip")
    check_spec(out.system, f"{where}: system")
    return out
