"""The CLI's progress printer: one line per :class:`codesign.progress.Progress`."""
from codesign.cli._progress import line
from codesign.progress import Progress


def test_printer_renders_search_and_sweep_progress():
    assert line(Progress("grid", 0.5, 1234, best=3.21, elapsed_s=2.0), best_unit="usd") == (
        "[grid]  50.0%  1,234 evaluations  best 3.21 usd  2.0 s")
    assert line(Progress("sweep", 0.25, 2_500_000, 10_000_000, "points", elapsed_s=9.5, rate_per_s=5e5,
                         eta_s=15.0)) == "[sweep]  25.0%  2.5 M/10 M points  500 k points/s  ETA 00:00:15  9.5 s"
