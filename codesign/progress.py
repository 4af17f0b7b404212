"""One progress record for every long operation (searches, Pareto fronts, sweeps, fits).

Library code never prints: a long run takes ``progress: Callable[[Progress], None] | None``
and calls it with one of these; the CLI's printer (``codesign.cli._progress``) renders it.
"""
import math
from typing import Callable, NamedTuple


class Progress(NamedTuple):
    """Where a long operation stands.

    Attributes:
        task: what runs (a search method, ``"pareto"``, ``"sweep"``, ...).
        fraction: share of the work done, in [0, 1]; 1.0 exactly once, at the end.
        done: units of work done so far (evaluations, points), this run and earlier ones.
        total: units of work in all, or None when only the fraction is known.
        unit: what ``done`` counts (``"evaluations"``, ``"points"``).
        best: best feasible objective so far (inf if none yet; nan where not meaningful).
        elapsed_s: seconds since this run started (compilation included).
        rate_per_s: recent units per second, or None.
        eta_s: estimated seconds left, or None.
        message: free text for the reader, or "".
    """

    task: str
    fraction: float
    done: int
    total: int | None = None
    unit: str = "evaluations"
    best: float = math.nan
    elapsed_s: float = 0.0
    rate_per_s: float | None = None
    eta_s: float | None = None
    message: str = ""


ProgressFn = Callable[[Progress], None]

__all__ = ["Progress", "ProgressFn"]
