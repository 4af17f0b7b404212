"""Shared CLI plumbing: a parser that exits 2 on usage errors, YAML config loading, output."""
import argparse
import json
import sys

import yaml

from ..errors import ConfigError


class Parser(argparse.ArgumentParser):
    """argparse already exits 2 on usage errors; this keeps the message to one clear line."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def load_yaml_config(path: str) -> dict:
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path!r} not found") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path!r} is not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path!r}: expected a mapping of key: value at the top level")
    return data


def add_dataset_args(p):
    """--data and --mapping, shared by the commands that read measurements."""
    p.add_argument("--data", nargs="+", metavar="CSV", help="measurement files (default: data/measurements*.csv)")
    p.add_argument("--mapping", metavar="YAML", help="row -> evaluation mapping (default: data/measurements_mapping.yaml)")


def print_json(obj):
    json.dump(obj, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def fmt(x: float, unit: str = "") -> str:
    """Engineering notation with SI prefixes for a human table."""
    if x == 0 or not abs(x) < float("inf"):
        return f"{x:g} {unit}".strip()
    for div, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""),
                        (1e-3, "m"), (1e-6, "u"), (1e-9, "n")):
        if abs(x) >= div:
            return f"{x / div:.4g} {prefix}{unit}".strip()
    return f"{x:.3g} {unit}".strip()
