"""Shared CLI plumbing: a parser that exits 2 on usage errors, output formatting."""
import argparse
import sys

from ..config.writing import dumps


class Parser(argparse.ArgumentParser):
    """argparse already exits 2 on usage errors; this keeps the message to one clear line."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_dataset_args(p):
    """--data and --mapping, shared by the commands that read measurements."""
    p.add_argument("--data", nargs="+", metavar="CSV", help="measurement files (default: the shipped dataset)")
    p.add_argument("--mapping", metavar="YAML", help="row -> evaluation mapping (default: the shipped mapping)")


def print_json(obj, why: dict | None = None):
    """``obj`` as strict JSON on stdout: non-finite numbers as null with a ``null_reasons``
    entry (:func:`codesign.config.writing.strict`; ``why``: key -> specific reason)."""
    sys.stdout.write(dumps(obj, why) + "\n")


def fmt(x: float, unit: str = "") -> str:
    """Engineering notation with SI prefixes for a human table."""
    if x == 0 or not abs(x) < float("inf"):
        return f"{x:g} {unit}".strip()
    for div, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""),
                        (1e-3, "m"), (1e-6, "u"), (1e-9, "n")):
        if abs(x) >= div:
            return f"{x / div:.4g} {prefix}{unit}".strip()
    return f"{x:.3g} {unit}".strip()
