"""Where the packaged files live: presets (``codesign/presets/{hardware,models,calibration}``)
and the measurement dataset (``codesign/data``), found with :mod:`importlib.resources` so a
non-editable install finds them too. ``$CODESIGN_PRESETS`` / ``$CODESIGN_DATA`` override.
"""
import os
from importlib import resources
from pathlib import Path


def package_dir() -> Path:
    """The installed ``codesign`` package directory (an installed wheel is unpacked on disk)."""
    return Path(str(resources.files("codesign")))


def presets_dir() -> Path:
    """Directory holding ``hardware/``, ``models/`` and ``calibration/``."""
    env = os.environ.get("CODESIGN_PRESETS")
    return Path(env) if env else package_dir() / "presets"


def data_dir() -> Path:
    """Directory holding the measurement CSVs and their row -> evaluation mapping."""
    env = os.environ.get("CODESIGN_DATA")
    return Path(env) if env else package_dir() / "data"


def display_path(path) -> str:
    """A packaged file relative to the package (``data/measurements.csv``: the same in every
    install, so fitted files and reports do not depend on where it lives); another file
    relative to the working directory when inside it, else absolute."""
    p = Path(path).resolve()
    for root in (package_dir().resolve(), Path.cwd().resolve()):
        if p.is_relative_to(root):
            return p.relative_to(root).as_posix()
    return str(p)
