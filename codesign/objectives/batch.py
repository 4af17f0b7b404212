"""Exact evaluation of a batch of designs with the one feasibility rule every searcher and
sweep applies.

A design is *feasible* iff every constraint holds (g <= 0 at exact fidelity, divisibility
included), the model's own memory check passes (``fits``: total bytes <= capacity, compared
in bytes; the normalised ``memory_fits`` constraint, ln bytes - ln capacity in float32,
cannot resolve an overflow below ~2e-6 relative, e.g. 96 bytes over 403 MB), and the
objective, every constraint and every metric the objective or the problem's Pareto front
reads are finite (and those metrics positive, so their logs are). A NaN point is therefore
never feasible, hence never best, in a search or a sweep.
"""
import jax
import jax.numpy as jnp
import numpy as np

from ..model import EXACT, METRIC_NAMES


def watched_metrics(problem) -> tuple[str, ...]:
    """The metrics that must be finite and positive for a design to count: the objective's,
    then the Pareto front's."""
    return tuple(dict.fromkeys(problem.objective.metrics + tuple(problem.pareto)))


def evaluate_rows(problem, variant: int):
    """A traceable ``x (n, d) -> (metrics (n, M), objective (n,), g (n, n_g), feasible (n,))``.

    ``metrics`` holds every metric of :data:`~codesign.model.METRIC_NAMES` in float32, in
    that order; ``feasible`` is the rule of this module.
    """
    watch_idx = np.array([METRIC_NAMES.index(m) for m in watched_metrics(problem)], np.int32)
    fits = METRIC_NAMES.index("fits")

    def one(x):
        ev = problem.evaluate(variant, x, EXACT)
        mat = jnp.stack([jnp.asarray(getattr(ev.metrics, k), jnp.float32) for k in METRIC_NAMES])
        finite = jnp.isfinite(ev.objective) & jnp.all(jnp.isfinite(ev.violations)) & jnp.all(
            jnp.isfinite(mat[watch_idx]) & (mat[watch_idx] > 0))
        return mat, ev.objective, ev.violations, ev.feasible & finite & (mat[fits] > 0)

    return jax.vmap(one)
