"""Preset names -> preset values, through lookups the caller supplies.

Design construction is pure: it takes :class:`Hardware`/:class:`Model` values. A config
names presets instead (``hardware: groq-lpu-v1``), so the functions that read configs take a
``catalog`` — two lookups, name -> value — and the edge that reads files passes its own
(:data:`codesign.config.CATALOG`, over the packaged YAML presets). A notebook can pass values
directly and no catalog at all.
"""
import dataclasses
from typing import Callable

from ..errors import ConfigError
from .presets import Hardware, Model


@dataclasses.dataclass(frozen=True)
class Catalog:
    """Lookups of preset names; each raises ConfigError naming the valid names."""

    hardware: Callable[[str, bool], Hardware]  # (name, calibrated) -> Hardware
    model: Callable[[str], Model]  # name -> Model


def _lookup_error(key, value):
    return ConfigError(f"{key} = {value!r} is a preset name but no preset catalog was given; allowed: a "
                       f"{'Hardware' if key == 'hardware' else 'Model'} value, or pass "
                       "catalog=codesign.config.CATALOG (codesign.config.load_* functions do)")


def hardware_of(value, catalog: Catalog | None, calibrated: bool = False, key: str = "hardware") -> Hardware:
    """``value`` itself if a Hardware (uncalibrated request only), else ``catalog.hardware(name)``."""
    if not isinstance(calibrated, bool):
        raise ConfigError(f"calibrated = {calibrated!r}; allowed: true, false")
    if isinstance(value, Hardware):
        if calibrated:
            raise ConfigError(f"calibrated = true with a Hardware value for {key}; allowed: a preset name "
                              "(the catalog applies the fitted file), or apply "
                              "codesign.calibration.apply_calibration to the value first")
        return value
    if catalog is None:
        raise _lookup_error(key, value)
    return catalog.hardware(str(value), calibrated)


def model_of(value, catalog: Catalog | None, key: str = "model") -> Model:
    """``value`` itself if a Model, else ``catalog.model(name)``."""
    if isinstance(value, Model):
        return value
    if catalog is None:
        raise _lookup_error(key, value)
    return catalog.model(str(value))


def resolve(request: dict, catalog: Catalog | None) -> tuple[Hardware, Model]:
    """The hardware and model of a request (``calibrated`` applies to a named hardware)."""
    for key in ("hardware", "model"):
        if request.get(key) is None:
            raise ConfigError(f"{key} is required (e.g. --{key} NAME); see `codesign presets`")
    return (hardware_of(request["hardware"], catalog, request.get("calibrated", False)),
            model_of(request["model"], catalog))
