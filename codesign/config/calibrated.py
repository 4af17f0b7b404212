"""Apply a fitted calibration file (``configs/calibration/fitted.yaml``) to a preset.

The file is written by ``codesign calibrate``; every value in it is *fitted* to the
measurement dataset named in the file (with its sha256), not a sourced physical constant.
The applied fields' ``sources`` say so. Presets stay uncalibrated unless this is asked for.
"""
import dataclasses

import yaml

from ..errors import ConfigError
from .presets import Hardware, configs_dir

FITTED_FILE = ("calibration", "fitted.yaml")


def fitted_path():
    return configs_dir().joinpath(*FITTED_FILE)


def load_fitted(path=None) -> dict:
    """The fitted file as a dict, checked for the keys the loader needs."""
    path = fitted_path() if path is None else path
    if not path.is_file():
        raise ConfigError(f"no calibration file {path}; run `codesign calibrate` first")
    with open(path) as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict) or data.get("label") != "fitted" or not isinstance(data.get("families"), dict):
        raise ConfigError(f"{path}: expected label: fitted and a families mapping (written by `codesign calibrate`)")
    return data


def family_entry(data: dict, hardware: str):
    for family, entry in data["families"].items():
        if hardware in entry.get("hardware", ()):
            return family, entry
    return None, None


def apply_calibration(hw: Hardware, path=None) -> Hardware:
    """``hw`` with its family's fitted values applied and labelled as fitted."""
    from ..calibration.params import PARAMS, apply_values  # noqa: PLC0415 (avoid an import cycle)

    data = load_fitted(path)
    family, entry = family_entry(data, hw.name)
    if entry is None:
        fitted = sorted(h for e in data["families"].values() for h in e.get("hardware", ()))
        raise ConfigError(f"no fitted values for hardware {hw.name!r} in {fitted_path()}; "
                          f"calibrated presets: {', '.join(fitted) or '(none)'}")
    values = {k: v["value"] for k, v in entry.get("values", {}).items()}
    try:
        chip, system = apply_values(hw.chip, hw.system, values)
    except KeyError as e:
        raise ConfigError(f"{fitted_path()}: family {family}: {e.args[0]}") from None
    chip = dataclasses.replace(chip, **{k: float(getattr(chip, k)) for k in _leaf_names(chip)})
    system = dataclasses.replace(system, **{k: float(getattr(system, k)) for k in _leaf_names(system)})
    ds = data.get("dataset", {})
    files = ", ".join(f"{m.get('path')} (sha256 {str(m.get('sha256', ''))[:12]})" for m in ds.get("measurements", []))
    sources = dict(hw.sources)
    for p in PARAMS:
        if p.name not in values:
            continue
        how = "set to" if p.kind == "absolute" else "preset x"
        for field in p.fields:
            sources[field] = (f"FITTED ({how} {values[p.name]:.4g}) by `codesign calibrate` on "
                              f"{data.get('fit_date', '?')} from {files}; preset: {hw.sources.get(field, '')}")
    return dataclasses.replace(hw, chip=chip, system=system, sources=sources,
                               summary=f"{hw.summary} [calibrated: fitted values, family {family}]")


def _leaf_names(spec):
    return [f.name for f in dataclasses.fields(spec) if not f.metadata.get("static")]
