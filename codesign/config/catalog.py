"""The packaged presets as a :class:`~codesign.design.Catalog`, and the entry points that read
configs naming presets: each resolves names through the catalog and calls the pure library."""
from ..analysis import JiaConfig, parse_config
from ..design import REQUEST_KEYS, Catalog, Design
from ..design import build_design as _build_design
from ..objectives import Problem, parse_problem
from .presets import load_hardware, load_model

#: Preset names -> values, read from the packaged YAML files.
CATALOG = Catalog(hardware=load_hardware, model=load_model)


def build_design(request: dict) -> Design:
    """Validate ``request`` (keys in REQUEST_KEYS; ``hardware``/``model`` preset names or values)
    and fill in defaults (:func:`codesign.design.build_design` over the packaged presets)."""
    return _build_design(request, CATALOG)


def load_problem(cfg: dict, extra_keys=()) -> Problem:
    """:func:`codesign.objectives.parse_problem` of a config naming packaged presets."""
    return parse_problem(cfg, extra_keys, CATALOG)


def load_jia_config(data: dict) -> JiaConfig:
    """:func:`codesign.analysis.parse_config` of a config naming packaged presets."""
    return parse_config(data, CATALOG)


__all__ = ["CATALOG", "REQUEST_KEYS", "build_design", "load_jia_config", "load_problem"]
