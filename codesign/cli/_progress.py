"""Progress lines on stderr for long CLI runs (library code only calls back)."""
import math
import sys
import time


class ProgressPrinter:
    """Callback for searchers: one line per ``every_s`` seconds (rewritten in place on a TTY)."""

    def __init__(self, label: str = "", every_s: float = 1.0, stream=None, fmt_best=None, show_best: bool = True):
        self.label, self.every_s = label, every_s
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.fmt_best, self.show_best = fmt_best or (lambda b: f"{b:.6g}"), show_best
        self.last = -math.inf

    def __call__(self, p):
        now = time.perf_counter()
        if now - self.last < self.every_s and p.fraction < 1.0:
            return
        self.last = now
        best = ""
        if self.show_best:
            best = "  best " + (self.fmt_best(p.best) if math.isfinite(p.best) else "none feasible yet")
        line = f"[{self.label or p.method}] {100 * p.fraction:5.1f}%  {p.evals:,} evaluations{best}  {p.elapsed_s:.1f} s"
        if self.tty:
            self.stream.write("\r" + line + ("\n" if p.fraction >= 1.0 else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
