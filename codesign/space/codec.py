"""The one codec of a design space: every numeric variable as a unit interval, rounding
back to the values a design may take, and the one random distribution.

Searchers work on ``z`` in [0, 1]^d. Each coordinate maps to its variable linearly or
logarithmically:

.. math:: x = \\ell + z (h - \\ell) \\quad\\text{or}\\quad x = \\exp(\\ln \\ell + z (\\ln h - \\ln \\ell)).

A variable is searched in log space when its config says ``log: true`` or, with
``auto_log``, when its range spans at least ``AUTO_LOG_RATIO`` (a batch of 1..512 or a
pipeline of 1..80 stages: equal steps in z are then equal *ratios*, which is how cost and
latency respond). Rounding (:meth:`Codec.round`) snaps integers to the nearest allowed value
(nearest choice, or nearest integer in range) and clips continuous values; it is jit-able so
random search and CMA-ES round inside their compiled loops.

"Random" means one distribution everywhere (random search, the sweep's random mode):
:meth:`Codec.sample` of u uniform in [0, 1)^d, i.e. uniform in z (so log-uniform for a
log-scaled variable), rounded to the nearest allowed value. On the search benchmark's space
P(pp <= 8) = ln 8.5 / ln 80 ~ 0.49 and every batch 1..512 can be drawn.
"""
import dataclasses
import functools
import math

import jax.numpy as jnp
import numpy as np

from .space import DesignSpace

#: Ratio high / low above which ``auto_log`` searches a positive variable in log space.
AUTO_LOG_RATIO = 4.0


@dataclasses.dataclass(frozen=True, eq=False)
class Codec:
    """Per-variable bounds, scale and integrality of a design space (host constants)."""

    low: np.ndarray  # (d,)
    high: np.ndarray
    log: np.ndarray  # bool (d,)
    integer: np.ndarray  # bool (d,): integer range or numeric choices
    choices: tuple  # per variable: sorted np.ndarray of allowed values, or None (range)

    @property
    def dim(self) -> int:
        return len(self.low)

    def decode(self, z, xp=jnp):
        """z in [0, 1]^d (any leading shape) -> x. ``xp=np`` on the host (no dispatch)."""
        z = xp.clip(z, 0.0, 1.0)
        lo, hi = self.low, self.high
        safe_lo, safe_hi = np.where(self.log, lo, 1.0), np.where(self.log, hi, 1.0)
        logx = np.log(safe_lo) + z * (np.log(safe_hi) - np.log(safe_lo))
        return xp.where(self.log, xp.exp(logx), lo + z * (hi - lo))

    def encode(self, x, xp=jnp):
        """x -> z in [0, 1]^d (inverse of :meth:`decode`; degenerate ranges map to 0)."""
        lo, hi = self.low, self.high
        safe_lo, safe_hi = np.where(self.log, lo, 1.0), np.where(self.log, hi, 2.0)
        span_log = np.log(safe_hi) - np.log(safe_lo)
        zl = (xp.log(xp.where(self.log, xp.maximum(x, 1e-30), 1.0)) - np.log(safe_lo)) / np.where(span_log > 0, span_log, 1.0)
        span = hi - lo
        zn = (x - lo) / np.where(span > 0, span, 1.0)
        return xp.clip(xp.where(self.log, zl, zn), 0.0, 1.0)

    def round(self, x, xp=jnp):
        """Nearest allowed value per variable (jit-able with ``xp=jnp``; any leading shape)."""
        cols = []
        for i in range(self.dim):
            xi = x[..., i]
            if self.choices[i] is not None:
                vals = self.choices[i]
                d = (xp.abs(xp.log(xp.maximum(xi, 1e-30))[..., None] - np.log(vals)) if self.log[i]
                     else xp.abs(xi[..., None] - vals))
                cols.append(xp.asarray(vals)[xp.argmin(d, axis=-1)])
            elif self.integer[i]:
                cols.append(xp.clip(xp.round(xi), self.low[i], self.high[i]))
            else:
                cols.append(xp.clip(xi, self.low[i], self.high[i]))
        return xp.stack(cols, axis=-1)

    def sample(self, u, xp=jnp):
        """The random design for u uniform in [0, 1)^d: ``round(decode(u))``."""
        return self.round(self.decode(u, xp), xp)

    def brackets(self, x, radius: int = 1) -> list[np.ndarray]:
        """Host: per variable, the allowed values around ``x`` — for an integer strictly
        between allowed values, ``radius`` on each side (floor and ceil for radius 1); on an
        allowed value, that value and ``radius`` on each side; a continuous variable's
        clipped value."""
        out = []
        for i in range(self.dim):
            xi = float(x[i])
            if not self.integer[i]:
                out.append(np.array([min(max(xi, self.low[i]), self.high[i])]))
                continue
            vals = self.choices[i] if self.choices[i] is not None else None
            if vals is None:
                r = round(xi)
                on = abs(xi - r) <= 1e-6 * max(1.0, abs(xi))
                base = r - radius if on else math.floor(xi) - radius + 1
                cand = np.arange(base, (r if on else math.floor(xi)) + radius + 1, dtype=float)
                cand = cand[(cand >= self.low[i]) & (cand <= self.high[i])]
                if not cand.size:
                    cand = np.array([min(max(r, self.low[i]), self.high[i])], float)
            else:
                k = int(np.argmin(np.abs(vals - xi)))
                if abs(vals[k] - xi) <= 1e-6 * max(1.0, abs(xi)):
                    cand = vals[max(k - radius, 0):k + radius + 1]
                else:
                    k = int(np.searchsorted(vals, xi))  # vals[k-1] < x < vals[k]
                    cand = vals[max(k - radius, 0):k + radius]
            out.append(np.unique(cand))
        return out

    def pair(self, x, i: int) -> tuple[float, float]:
        """Host: the two allowed values of integer variable ``i`` to branch on at ``x``:
        floor and ceil, or for a value already allowed, it and its nearest neighbour (the
        one above unless at the top)."""
        br = self.brackets(x, 1)[i]
        if len(br) == 2:
            return float(br[0]), float(br[1])
        if len(br) == 1:
            return float(br[0]), float(br[0])
        return float(br[1]), float(br[2] if br[1] < self.high[i] else br[0])


@functools.lru_cache(maxsize=64)
def make_codec(space: DesignSpace, auto_log: bool = True) -> Codec:
    """The codec of ``space`` (cached: compiled programs are keyed on it)."""
    lows, highs, logs, ints, choices = [], [], [], [], []
    for v in space.variables:
        if v.choices is not None:
            vals = np.asarray(sorted(v.choices), float)
            lo, hi, ch = float(vals[0]), float(vals[-1]), vals
        else:
            lo, hi, ch = float(v.low), float(v.high), None
        log = bool(v.log) or (auto_log and lo > 0 and hi / lo >= AUTO_LOG_RATIO)
        lows.append(lo), highs.append(hi), logs.append(log), choices.append(ch)
        ints.append(v.kind == "integer")
    return Codec(np.array(lows), np.array(highs), np.array(logs, bool), np.array(ints, bool), tuple(choices))
