"""Objectives: one metric, or a weighted sum of log-metrics.

.. math:: J(x) = \\sum_i w_i \\, s_i \\ln m_i(x)

with s_i = +1 for metrics to minimise and -1 for metrics to maximise. Logs make the sum
scale-free across units ($, J, s): a weighted geometric mean of the metrics.
"""
import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from .metrics import check_metric, sense

#: Floor of a metric before its log (host float64; 0 in float32): a zero metric maps to a
#: large finite value on the host instead of -inf.
TINY = 1e-300


def signed_log(values, signs, xp=jnp):
    """A metric in minimisation form, f = s ln m (s = +1 to minimise, -1 to maximise).

    Args:
        values: metric values in their own units (any shape; the last axis matches ``signs``
            when ``signs`` is a vector).
        signs: +1 / -1 per metric (see :func:`metric_signs`), or one scalar.
        xp: ``jax.numpy`` (traceable, differentiable where m > 0) or ``numpy`` (host).
    """
    return signs * xp.log(xp.maximum(values, TINY))


def metric_signs(metrics) -> np.ndarray:
    """+1 / -1 for each named metric (the ``s_i`` of :func:`signed_log`)."""
    return np.array([sense(m) for m in metrics], float)


@dataclasses.dataclass(frozen=True)
class Objective:
    terms: tuple[tuple[str, float], ...]  # (metric, weight)

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(m for m, _ in self.terms)

    def __call__(self, metrics):
        """Scalar to minimise."""
        return sum(w * signed_log(getattr(metrics, m), sense(m)) for m, w in self.terms)

    def value(self, objective: float) -> float:
        """The objective in the metric's own units for a one-metric objective (the inverse of
        :func:`signed_log`: m = exp(s J / w)); a weighted sum is returned as it is."""
        if len(self.terms) != 1:
            return float(objective)
        (metric, weight), = self.terms
        return math.exp(sense(metric) * float(objective) / weight)

    def describe(self) -> str:
        verb = lambda m: "max" if sense(m) < 0 else "min"
        return " + ".join(f"{w:g} x {verb(m)} ln {m}" for m, w in self.terms)


def parse_objective(cfg) -> Objective:
    """``usd_per_million_tokens`` or ``{metric: weight, ...}``."""
    if isinstance(cfg, str):
        return Objective(((check_metric(cfg, "objective"), 1.0),))
    if isinstance(cfg, dict) and cfg:
        terms = []
        for m, w in cfg.items():
            check_metric(str(m), "objective")
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not w > 0:
                raise ConfigError(f"objective.{m}: weight {w!r}; allowed: a number > 0")
            terms.append((str(m), float(w)))
        return Objective(tuple(terms))
    raise ConfigError(f"objective: expected a metric name or {{metric: weight}}, got {cfg!r}")
