"""Adapters from the searchers' and sweeps' own progress records to :class:`codesign.progress.Progress`.

The relay also keeps the promise every caller relies on: fractions never go back, and the
last call has fraction 1.0 exactly (``finish``), even when the underlying loop ends early.
"""
import math

from ..progress import Progress


def from_search(p, task: str | None = None, best=None) -> Progress:
    """A searcher's record (``search.base.Progress``: method, fraction, evals, best, elapsed_s)."""
    if not isinstance(p, Progress):
        p = Progress(getattr(p, "method", "search"), float(p.fraction), int(getattr(p, "evals", 0)), None,
                     "evaluations", float(getattr(p, "best", math.inf)), float(p.elapsed_s))
    value = best(p.best) if best is not None and math.isfinite(p.best) else p.best
    return p._replace(task=task or p.task, best=value)


def from_sweep(p) -> Progress:
    """A sweep's record (``sweep.runner.Progress``: done_points, total_points, points_per_s, eta_s)."""
    if isinstance(p, Progress):
        return p
    total = int(p.total_points)
    return Progress("sweep", min(1.0, p.done_points / total) if total else 1.0, int(p.done_points), total,
                    "points", math.nan, float(p.elapsed_s), float(p.points_per_s), p.eta_s)


class Relay:
    """``progress`` wrapped: converts with ``convert``, keeps fractions monotone, ends at 1."""

    def __init__(self, progress, convert):
        self.progress, self.convert = progress, convert
        self.last: Progress | None = None

    def __call__(self, raw):
        p = self.convert(raw)
        if self.last is not None and p.fraction < self.last.fraction:
            p = p._replace(fraction=self.last.fraction)
        if p.fraction >= 1.0:
            p = p._replace(fraction=1.0)
            if self.last is not None and self.last.fraction >= 1.0:
                self.last = p  # already reported the end; remember the newest figures only
                return
        self.last = p
        if self.progress is not None:
            self.progress(p)

    def finish(self, **fields):
        """Report the end (fraction 1.0) unless the loop already did."""
        if self.last is not None and self.last.fraction >= 1.0:
            return
        base = self.last or Progress("", 0.0, 0)
        self.last = base._replace(fraction=1.0, **fields)
        if self.progress is not None:
            self.progress(self.last)
