"""Read the measurement dataset (CSV files + row-to-evaluation mapping) from disk.

The parsing and mapping logic is in :mod:`codesign.validation`; this module only reads the
files, hashes them (a fit records the sha256 of what it saw) and hands the text over.
Default files are the packaged ``codesign/data/`` (``$CODESIGN_DATA`` overrides).
"""
import dataclasses
import hashlib
from pathlib import Path

from ..errors import ConfigError
from ..validation import Case, Inexpressible, Issue, Row, build_cases, merge, parse_measurements
from .catalog import CATALOG
from .experiment import parse_yaml, read_bytes
from .files import data_dir, display_path

DEFAULT_MEASUREMENTS = ("measurements.csv", "measurements_extra.csv", "measurements_families.csv")
DEFAULT_MAPPING = "measurements_mapping.yaml"


def default_paths() -> tuple[list[Path], Path]:
    d = data_dir()
    return [d / f for f in DEFAULT_MEASUREMENTS], d / DEFAULT_MAPPING


@dataclasses.dataclass(frozen=True)
class Dataset:
    rows: list[Row]
    cases: list[Case]
    inexpressible: list[Inexpressible]
    issues: list[Issue]
    files: dict  # {"measurements": [{"path", "sha256"}], "mapping": {"path", "sha256"}}


def _read(path: Path) -> tuple[str, str]:
    data = read_bytes(path, "measurement file")
    try:
        return data.decode("utf-8"), hashlib.sha256(data).hexdigest()
    except UnicodeDecodeError as e:
        raise ConfigError(f"measurement file {str(path)!r} is not UTF-8 text: {e}") from None


def _check_files(issues: list[Issue]):
    """Problems no report over the remaining rows can be trusted with: a file without the
    header (empty, header missing or wrong columns) and an id given twice (which measurement
    is meant?) are errors; other malformed rows are skipped and reported."""
    for i in issues:
        if i.line == 0 or i.message.startswith("header ") or i.message.startswith("duplicate id"):
            raise ConfigError(f"measurement file {i}" + ("; ids must be unique" if "duplicate" in i.message else ""))


def load_dataset(csv_paths=None, mapping_path=None, calibrated: bool = False) -> Dataset:
    """Rows of every CSV, their cases under the mapping, inexpressible rows and issues.

    Raises:
        ConfigError: a file cannot be read or has no valid header, an id appears twice, the
            mapping names an unknown preset, or no row can be evaluated.
    """
    default_csv, default_map = default_paths()
    csv_paths = [Path(p) for p in (csv_paths or default_csv)]
    mapping_path = Path(mapping_path or default_map)
    parsed, files = [], []
    for p in csv_paths:
        text, digest = _read(p)
        parsed.append(parse_measurements(text, display_path(p)))
        files.append({"path": display_path(p), "sha256": digest})
    rows, issues = merge(parsed)
    _check_files(issues)
    raw = read_bytes(mapping_path, "mapping file")
    mapping, digest = parse_yaml(raw, str(mapping_path), "mapping file"), hashlib.sha256(raw).hexdigest()
    cases, inexpressible, more = build_cases(rows, mapping if mapping is not None else {},
                                             display_path(mapping_path), calibrated, CATALOG)
    if not cases:
        shown = "; ".join(map(str, (issues + more)[:3]))
        raise ConfigError(f"no measurement row can be evaluated ({len(rows)} rows read from "
                          f"{', '.join(f['path'] for f in files)}, {len(inexpressible)} inexpressible under "
                          f"{display_path(mapping_path)})" + (f": {shown}" if shown else ""))
    return Dataset(rows, cases, inexpressible, issues + more,
                   {"measurements": files, "mapping": {"path": display_path(mapping_path), "sha256": digest}})
