"""Read the fitted calibration file (``presets/calibration/fitted.yaml``, written by
``codesign calibrate --update-shipped``) and apply it to a preset with :func:`codesign.calibration.apply_calibration`.
Presets stay uncalibrated unless this is asked for.
"""
from pathlib import Path

from ..calibration.apply import apply_calibration, check_fitted
from ..design import Hardware
from ..design.fields import check_spec, number
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
    return data


def load_calibrated(hw: Hardware, path=None) -> Hardware:
    """``hw`` with its family's fitted values from ``path`` (default: the packaged file);
    every field of the result must lie in its range (:func:`codesign.design.fields.check_spec`)."""
    path = fitted_path() if path is None else Path(path)
    out = apply_calibration(hw, load_fitted(path), str(path))
    where = f"{hw.name} calibrated by {str(path)!r}"
    check_spec(out.chip, f"{where}: chip")
    check_spec(out.system, f"{where}: system")
    return out
