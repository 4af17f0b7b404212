"""Reading an experiment file (edge I/O): YAML in, a plain mapping out, errors naming the file.

The keys themselves are validated by what consumes them (``objectives.parse_problem``,
``sweep.make_plan``, ``analysis.parse_config``), each naming the bad field.
"""
import os

import yaml

from ..errors import ConfigError


def load_experiment(path: str | os.PathLike) -> dict:
    """The top-level mapping of the YAML file at ``path`` ({} for an empty file).

    Raises:
        ConfigError: the file is missing or unreadable, is not YAML, or its top level is not
            a mapping; the message names the file.
    """
    path = os.fspath(path)
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path!r} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path!r} is a directory; allowed: a YAML file") from None
    except OSError as e:
        raise ConfigError(f"config file {path!r} cannot be read: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path!r} is not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path!r}: expected a mapping of key: value at the top level")
    return data
