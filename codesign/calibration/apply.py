"""Apply fitted calibration values (the document ``codesign calibrate`` writes) to a preset.

Every value in the document is *fitted* to the measurement dataset it names (with sha256),
not a sourced physical constant; the applied fields' ``sources`` say so. Pure: the caller
reads the file (:func:`codesign.config.load_fitted`).
"""
import dataclasses

from ..design import Hardware
from ..errors import ConfigError
from .params import PARAMS, apply_values


def check_fitted(data, where: str = "fitted document") -> dict:
    """``data`` if it has the keys :func:`apply_calibration` needs, else ConfigError."""
    if not isinstance(data, dict) or data.get("label") != "fitted" or not isinstance(data.get("families"), dict):
        raise ConfigError(f"{where}: expected label: fitted and a families mapping (written by `codesign calibrate`)")
    return data


def apply_calibration(hw: Hardware, fitted: dict, where: str = "fitted document") -> Hardware:
    """``hw`` with the fitted values of its family (``hw.family``) applied and labelled as fitted.

    Args:
        hw: an uncalibrated preset.
        fitted: the fitted document (``label: fitted``, ``families: {family: {hardware: [names],
            values: {param: {value: ...}}}}``, ``dataset``, ``fit_date``).
        where: how errors name the document (e.g. its path).

    Raises:
        ConfigError: the document is malformed, or was not fitted on rows of ``hw``.
    """
    data = check_fitted(fitted, where)
    entry = data["families"].get(hw.family)
    if not isinstance(entry, dict) or hw.name not in entry.get("hardware", ()):
        fitted_hw = sorted(h for e in data["families"].values() for h in e.get("hardware", ()))
        raise ConfigError(f"no fitted values for hardware {hw.name!r} (family {hw.family}) in {where}; "
                          f"calibrated presets: {', '.join(fitted_hw) or '(none)'}")
    values = {k: v["value"] for k, v in entry.get("values", {}).items()}
    try:
        chip, system = apply_values(hw.chip, hw.system, values)
    except KeyError as e:
        raise ConfigError(f"{where}: family {hw.family}: {e.args[0]}") from None
    # Fitted values are host floats (a preset's leaves are not traced arrays).
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
                               summary=f"{hw.summary} [calibrated: fitted values, family {hw.family}]")


def _leaf_names(spec):
    return [f.name for f in dataclasses.fields(spec) if not f.metadata.get("static")]
