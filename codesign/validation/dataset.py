"""Parse measurement files (CSV text) into rows, reporting every malformed row with its line.

A measurement file has the columns of ``codesign/data/measurements.csv``:
``id, system, chips, model, precision, phase, batch_or_concurrency, metric, value, unit,
source, notes``. A row is kept only if it has an id, a finite positive value, a unit and a
source; anything else is reported as an :class:`Issue` (file, line, id, message) and skipped,
never silently dropped. Parsing is pure: callers read the files.
"""
import csv
import dataclasses
import io
import math

COLUMNS = ("id", "system", "chips", "model", "precision", "phase", "batch_or_concurrency",
           "metric", "value", "unit", "source", "notes")
_REQUIRED = ("id", "metric", "value", "unit", "source")


@dataclasses.dataclass(frozen=True)
class Row:
    """One published measurement or claim, as written in the file (``value`` parsed)."""

    file: str
    line: int
    id: str
    system: str
    chips: str
    model: str
    precision: str
    phase: str
    batch_or_concurrency: str
    metric: str
    value: float
    unit: str
    source: str
    notes: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclasses.dataclass(frozen=True)
class Issue:
    """A row that was skipped (or a mapping entry that was rejected), and why."""

    file: str
    line: int  # 0 when the problem is not tied to a line
    id: str
    message: str

    def __str__(self):
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.id or '(no id)'}: {self.message}"


def parse_measurements(text: str, file: str = "<text>") -> tuple[list[Row], list[Issue]]:
    """Rows and issues of one CSV file. The header must list :data:`COLUMNS` in order."""
    rows, issues = [], []
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return rows, [Issue(file, 0, "", "empty file: expected a header row")]
    if tuple(h.strip() for h in header) != COLUMNS:
        return rows, [Issue(file, reader.line_num, "", f"header {header!r}; expected {', '.join(COLUMNS)}")]
    seen = {}
    for fields in reader:
        line = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        rid = fields[0].strip()
        if len(fields) != len(COLUMNS):
            issues.append(Issue(file, line, rid, f"{len(fields)} fields; expected {len(COLUMNS)}"))
            continue
        rec = dict(zip(COLUMNS, (f.strip() for f in fields)))
        missing = [k for k in _REQUIRED if not rec[k]]
        if missing:
            issues.append(Issue(file, line, rid, f"empty {', '.join(missing)}; every row needs "
                                                 f"{', '.join(_REQUIRED)}"))
            continue
        try:
            value = float(rec["value"])
        except ValueError:
            value = float("nan")
        if not math.isfinite(value) or value <= 0:
            issues.append(Issue(file, line, rid, f"value = {rec['value']!r}; allowed: a finite number > 0"))
            continue
        if rid in seen:
            issues.append(Issue(file, line, rid, f"duplicate id (first at line {seen[rid]})"))
            continue
        seen[rid] = line
        rows.append(Row(file=file, line=line, value=value, **{k: v for k, v in rec.items() if k != "value"}))
    return rows, issues


def merge(parsed: list[tuple[list[Row], list[Issue]]]) -> tuple[list[Row], list[Issue]]:
    """Concatenate several files; an id repeated across files is an issue (later one skipped)."""
    rows, issues, first = [], [], {}
    for file_rows, file_issues in parsed:
        issues += file_issues
        for r in file_rows:
            if r.id in first:
                issues.append(Issue(r.file, r.line, r.id, f"duplicate id (first at {first[r.id]})"))
                continue
            first[r.id] = r.where
            rows.append(r)
    return rows, issues
