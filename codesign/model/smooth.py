"""Exact and smooth versions of max, min and ceil.

Reports use the exact forms. Search uses p-norms, which are scale-free (they work the same
for microseconds and for dollars) and converge to the exact max/min as p -> infinity:

.. math:: \\mathrm{smax}_p(x) = \\Big(\\sum_i x_i^p\\Big)^{1/p}, \\qquad
          \\max_i x_i \\le \\mathrm{smax}_p(x) \\le n^{1/p} \\max_i x_i  \\quad (x_i \\ge 0).
"""
import dataclasses
from functools import reduce

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Fidelity:
    """Static evaluation options. ``smooth=False`` is exact (reporting); ``smooth=True``
    replaces max/min by p-norms with p = ``sharpness`` and ceil by the identity (search)."""

    smooth: bool = False
    sharpness: float = 8.0


EXACT = Fidelity()
SMOOTH = Fidelity(smooth=True)

_TINY = 1e-30


def _pow(x, p: float):
    """x ** p; an integral p as repeated multiplication (lax.integer_pow: no exp/log, several
    times cheaper in value and gradient than a float power)."""
    # a traced sharpness (searchers anneal it) takes the float power
    return x ** int(p) if isinstance(p, (int, float)) and float(p).is_integer() else x ** p


def smax(fid: Fidelity, *xs):
    """Max of non-negative values (p-norm when smooth)."""
    if not fid.smooth:
        return reduce(jnp.maximum, xs)
    # Normalise by the (constant) exact max: the p-norm is homogeneous of degree 1, so the
    # value and its gradient are unchanged, and x**p no longer underflows for x ~ 1e-6 s.
    m = jax.lax.stop_gradient(jnp.maximum(reduce(jnp.maximum, xs), _TINY))
    s = sum(_pow(x / m, fid.sharpness) for x in xs)
    # All arguments 0 (an op a workload lacks): the value is 0; the root's infinite slope at
    # s = 0 is kept out of the gradient (it met a zero slope of s and made NaN).
    positive = s > 0
    return jnp.where(positive, m * jnp.where(positive, s, 1.0) ** (1.0 / fid.sharpness), 0.0)


def smin(fid: Fidelity, *xs):
    """Min of positive values (p-norm of the reciprocals when smooth)."""
    if not fid.smooth:
        return reduce(jnp.minimum, xs)
    m = jax.lax.stop_gradient(jnp.maximum(reduce(jnp.minimum, xs), _TINY))
    return m * sum(_pow(m / x, fid.sharpness) for x in xs) ** (-1.0 / fid.sharpness)


def sceil(fid: Fidelity, x):
    """Ceil in exact mode; identity (the continuous relaxation) when smooth."""
    # The relative slack keeps float32 round-off (576/8 -> 72.000004) from adding one.
    return x if fid.smooth else jnp.ceil(x * (1.0 - 1e-6))


def positive_part(x):
    """max(x, 0); its subgradient is finite everywhere."""
    return jnp.maximum(x, 0.0)
