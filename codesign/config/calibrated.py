"""Read the fitted calibration file (``presets/calibration/fitted.yaml``, written by
``codesign calibrate``) and apply it to a preset with :func:`codesign.calibration.apply_calibration`.
Presets stay uncalibrated unless this is asked for.
"""
from pathlib import Path

from ..calibration.apply import apply_calibration, check_fitted
from ..design import Hardware
from ..errors import ConfigError
from .experiment import read_yaml
from .files import presets_dir

FITTED_FILE = ("calibration", "fitted.yaml")


def fitted_path() -> Path:
    """The packaged fitted file (in an editable install: the source tree's)."""
    return presets_dir().joinpath(*FITTED_FILE)


def load_fitted(path=None) -> dict:
    """The fitted file as a dict, checked for the keys the loader needs."""
    path = fitted_path() if path is None else Path(path)
    if not path.is_file():
        raise ConfigError(f"no calibration file {path}; run `codesign calibrate` first")
    return check_fitted(read_yaml(path, "calibration file", mapping=False), str(path))


def load_calibrated(hw: Hardware, path=None) -> Hardware:
    """``hw`` with its family's fitted values from ``path`` (default: the packaged file)."""
    path = fitted_path() if path is None else Path(path)
    return apply_calibration(hw, load_fitted(path), str(path))
