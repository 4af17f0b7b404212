"""Accept an experiment either as a mapping or as the path of its YAML file."""
import os

from ..config import load_experiment
from ..errors import ConfigError


def resolve(cfg, name: str | None = None) -> tuple[dict, str | None]:
    """(config mapping, name for reports): a path is read with :func:`codesign.config.load_experiment`
    and names itself; a mapping is used as given."""
    if isinstance(cfg, (str, os.PathLike)):
        return load_experiment(cfg), name if name is not None else os.fspath(cfg)
    if not isinstance(cfg, dict):
        raise ConfigError(f"cfg = {type(cfg).__name__}; allowed: a mapping or the path of a YAML file")
    return cfg, name
