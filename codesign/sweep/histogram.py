"""Fixed histogram bins for every metric, computed from float32 bit patterns.

A positive float32 ``v = (1 + f) 2^e`` has the bit pattern ``(e + 127) 2^23 + f 2^23``,
increasing with ``v``. Shifting it right by ``23 - s`` gives bin edges at

.. math:: (1 + k / 2^s) \\, 2^e, \\qquad k = 0 \\dots 2^s - 1,

``2^s`` bins per octave over [2**min_exp2, 2**max_exp2). The bin of a value is an integer
operation on its bits: no logarithm, so it is exact and identical on every device and
platform, and the edges are known exactly on the host. Bin 0 counts values below the range
(zero, negatives, -inf), the last-but-one values above it (+inf), the last NaN.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class Bins:
    bins_per_octave: int = 4
    min_exp2: int = -40
    max_exp2: int = 64

    @property
    def shift(self) -> int:
        return 23 - int(np.log2(self.bins_per_octave))

    @property
    def inner(self) -> int:
        return (self.max_exp2 - self.min_exp2) * self.bins_per_octave

    @property
    def size(self) -> int:
        """Bins per histogram: underflow, inner bins, overflow, NaN."""
        return self.inner + 3

    @property
    def _base(self) -> int:
        return ((127 + self.min_exp2) << 23) >> self.shift

    def index(self, v):
        """Bin index of float32 values ``v`` (device side, int32)."""
        bits = jax.lax.bitcast_convert_type(v.astype(jnp.float32), jnp.int32)
        b = jnp.clip((bits >> self.shift) - self._base + 1, 0, self.inner + 1)
        return jnp.where(jnp.isnan(v), self.inner + 2, b)

    def edges(self) -> np.ndarray:
        """The inner+1 bin edges (float64, exact): bin i (1-based) is [edges[i-1], edges[i])."""
        bits = ((self._base + np.arange(self.inner + 1, dtype=np.int64)) << self.shift).astype(np.uint32)
        return bits.view(np.float32).astype(np.float64)


def quantiles(counts: np.ndarray, bins: Bins, qs=(0.05, 0.5, 0.95)) -> list:
    """Upper bin edges bracketing the quantiles ``qs`` of a histogram (None if empty).

    Values below/above the range report the range's ends; NaNs are left out.
    """
    c = np.asarray(counts[:-1], np.int64)
    n = int(c.sum())
    if n == 0:
        return [None for _ in qs]
    edges = bins.edges()
    upper = np.concatenate([[edges[0]], edges[1:], [np.inf]])
    cum = np.cumsum(c)
    return [float(upper[int(np.searchsorted(cum, q * n, side="left"))]) for q in qs]


def value_range(counts: np.ndarray, bins: Bins):
    """(low edge of the first, high edge of the last) non-empty bin, or None."""
    c = np.asarray(counts[:-1])
    nz = np.nonzero(c)[0]
    if nz.size == 0:
        return None
    e = np.concatenate([[-np.inf], bins.edges(), [np.inf]])
    return float(e[nz[0]]), float(e[nz[-1] + 1])
