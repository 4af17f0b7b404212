"""The one progress printer of the CLI: renders :class:`codesign.progress.Progress` on stderr."""
import math
import sys
import time

from ._common import fmt


class ProgressPrinter:
    """Callback for any long run: one line per ``every_s`` seconds (rewritten in place on a
    TTY; ``pipe_every_s`` when piped), and always the final line (fraction 1)."""

    def __init__(self, label: str = "", every_s: float = 1.0, stream=None, best_unit: str | None = None,
                 pipe_every_s: float | None = None):
        self.label, self.best_unit = label, best_unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = every_s if self.tty or pipe_every_s is None else pipe_every_s
        self.last = -math.inf

    def __call__(self, p):
        now = time.perf_counter()
        final = p.fraction >= 1.0
        if now - self.last < self.every_s and not final:
            return
        self.last = now
        self.stream.write(("\r" + line(p, self.label, self.best_unit) + ("\n" if final else "")) if self.tty
                          else line(p, self.label, self.best_unit) + "\n")
        self.stream.flush()


def line(p, label: str = "", best_unit: str | None = None) -> str:
    """``[task] 12.3%  done[/total] unit[  best x unit][  rate unit/s  ETA hh:mm:ss]  elapsed s``."""
    count = f"{fmt(p.done)}/{fmt(p.total)}" if p.total is not None else f"{p.done:,}"
    out = f"[{label or p.task}] {100 * p.fraction:5.1f}%  {count} {p.unit}"
    if best_unit is not None:
        out += "  best " + (f"{p.best:.5g} {best_unit}".rstrip() if math.isfinite(p.best) else "none feasible yet")
    if p.rate_per_s is not None:
        eta = "-" if p.eta_s is None else duration(p.eta_s)
        out += f"  {fmt(p.rate_per_s)} {p.unit}/s  ETA {eta}"
    if p.message:
        out += f"  {p.message}"
    return out + f"  {p.elapsed_s:.1f} s"


def duration(seconds: float) -> str:
    """``hh:mm:ss``, with whole days in front past 24 h (``3d 04:05:06``): strftime of a
    gmtime would drop the days."""
    if not math.isfinite(seconds):
        return "-"
    s = int(round(max(seconds, 0.0)))
    days, s = divmod(s, 86400)
    clock = f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{days}d {clock}" if days else clock
