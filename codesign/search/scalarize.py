"""Per-start scalarisations: what each start of a multi-start search minimises.

Start s minimises ``weights[s] . f`` subject to ``f <= eps[s]`` where f_i = s_i ln m_i for
the metrics in ``metrics`` (s_i = -1 for metrics to maximise). A single objective is one
row repeated; a Pareto front is many rows (weighted sums and/or ε-constraints), searched
together with ``jax.vmap``.
"""
from typing import NamedTuple

import numpy as np

from ..objectives import Problem

NO_BOUND = np.inf


class Scalarization(NamedTuple):
    metrics: tuple[str, ...]
    weights: np.ndarray  # (S, n)
    eps: np.ndarray  # (S, n); inf = no ε-constraint

    @property
    def starts(self) -> int:
        return len(self.weights)

    def objective(self, f):
        """(S, n_points) scalarised objective of each start at f (n_points, n)."""
        return self.weights @ np.asarray(f).T

    def admissible(self, f):
        """(S, n_points): the point meets start s's ε-constraints."""
        f = np.asarray(f)
        return np.all(f[None, :, :] <= self.eps[:, None, :] + 1e-9, axis=-1)


def from_objective(problem: Problem, starts: int) -> Scalarization:
    metrics = problem.objective.metrics
    w = np.array([wt for _, wt in problem.objective.terms], float)
    return Scalarization(metrics, np.tile(w, (starts, 1)), np.full((starts, len(metrics)), NO_BOUND))


def repeat(sc: Scalarization, times: int) -> Scalarization:
    """Each row ``times`` times (several starts per scalarisation)."""
    return Scalarization(sc.metrics, np.repeat(sc.weights, times, 0), np.repeat(sc.eps, times, 0))
