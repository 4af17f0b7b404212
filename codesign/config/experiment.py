"""Reading YAML files (edge I/O): the one way every config, preset, mapping and fitted file is
opened, so each failure (missing, a directory, unreadable, not UTF-8 text, not YAML, not a
mapping) is one :class:`~codesign.errors.ConfigError` naming the file.

The keys themselves are validated by what consumes them (``objectives.parse_problem``,
``sweep.make_plan``, ``analysis.parse_config``), each naming the bad field.
"""
import os

import yaml

from ..errors import ConfigError


def read_bytes(path: str | os.PathLike, what: str = "config file") -> bytes:
    """The bytes of ``path``; ``what`` names the file's role in the error."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ConfigError(f"{what} {path!r} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} {path!r} is a directory; allowed: a YAML file") from None
    except OSError as e:
        raise ConfigError(f"{what} {path!r} cannot be read: {e.strerror}") from None


def parse_yaml(data: bytes, path: str, what: str = "config file"):
    """``data`` (the bytes of ``path``) as UTF-8 YAML; a binary file, another encoding or bad
    YAML is a ConfigError naming the file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{what} {path!r} is not UTF-8 text (byte {e.start}: {data[e.start:e.start + 1]!r}); "
                          "allowed: a UTF-8 YAML file") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{what} {path!r} is not valid YAML: {' '.join(str(e).split())}") from None
    except RecursionError:
        raise ConfigError(f"{what} {path!r} is nested too deeply") from None


def read_yaml(path: str | os.PathLike, what: str = "config file", mapping: bool = True):
    """The YAML document at ``path``; with ``mapping``, its top level must be a mapping
    ({} for an empty file)."""
    path = os.fspath(path)
    data = parse_yaml(read_bytes(path, what), path, what)
    if not mapping:
        return data
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path!r}: expected a mapping of key: value at the top level, "
                          f"got {type(data).__name__}")
    return data


def load_experiment(path: str | os.PathLike) -> dict:
    """The top-level mapping of the YAML file at ``path`` ({} for an empty file).

    Raises:
        ConfigError: the file is missing or unreadable, is not UTF-8 YAML, or its top level is
            not a mapping; the message names the file.
    """
    return read_yaml(path, "config file")
