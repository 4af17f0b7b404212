"""A list scheduler over a static op graph with unit occupancy.

Ops are taken in a fixed priority order (their index: the graph is topologically ordered).
Each op runs on one unit; it starts when all its dependencies have finished and its unit is
free, and holds the unit for its duration:

.. math:: s_i = \\max\\big(\\max_{j \\in \\mathrm{deps}(i)} f_j,\\ \\mathrm{free}(u_i)\\big),
          \\qquad f_i = s_i + d_i, \\qquad \\mathrm{makespan} = \\max_i f_i.

The graph (dependencies, units) is static Python and the loop unrolls at trace time, so the
cost is a fixed number of max/add operations per op, independent of model depth (the layers
of a decoder are identical: schedule one, multiply). In smooth mode the maxima are p-norms
(:func:`~codesign.model.smooth.smax`), differentiable everywhere.
"""
import jax.numpy as jnp

from ..specs._pytree import pytree_dataclass
from .smooth import Fidelity, smax


@pytree_dataclass
class Schedule:
    """Start and finish of every op (tuples in graph order), the makespan, the busy time of
    every unit and which ops lie on the critical path (1.0 / 0.0; exact mode)."""

    start: tuple
    finish: tuple
    makespan: float
    busy: tuple  # per unit: sum of the durations of its ops
    critical: tuple  # per op: 1.0 if it lies on the critical path


def _max(fid, xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return 0.0
    return xs[0] if len(xs) == 1 else smax(fid, *xs)


def list_schedule(fid: Fidelity, durations, deps, units, n_units: int, critical: bool = False) -> Schedule:
    """Schedule ops ``0..n-1`` in index order.

    Args:
        durations: n non-negative durations (traced scalars).
        deps: n static tuples of op indices, each smaller than its op's index.
        units: n static unit indices in ``range(n_units)``.
        n_units: number of units.
        critical: also mark the ops on the critical path (for reports; else all 0).
    """
    n = len(durations)
    free = [None] * n_units
    last_on = [None] * n_units  # op that last held each unit
    start, finish, unit_pred = [], [], []
    for i in range(n):
        if any(not 0 <= j < i for j in deps[i]):
            raise ValueError(f"op {i}: dependencies {deps[i]} must be earlier ops")
        u = units[i]
        if n_units == 1 and free[u] is not None:
            s = free[u]  # one unit: every dependency finished before it was free (exactly)
        else:
            s = _max(fid, [finish[j] for j in deps[i]] + [free[u]])
        f = s + durations[i]
        start.append(s)
        finish.append(f)
        unit_pred.append(last_on[u])
        free[u], last_on[u] = f, i
    makespan = free[units[-1]] if n_units == 1 else _max(fid, finish)
    busy = tuple(sum((durations[i] for i in range(n) if units[i] == u), jnp.zeros(())) for u in range(n_units))
    crit = _critical(start, finish, makespan, deps, unit_pred) if critical else (0.0,) * n
    return Schedule(start=tuple(start), finish=tuple(finish), makespan=makespan, busy=busy, critical=crit)


def _critical(start, finish, makespan, deps, unit_pred):
    """Ops on a critical path: walk back from the ops that end the makespan through the
    predecessor (dependency or unit predecessor) that released each op (its finish equals
    the op's start)."""
    n = len(start)
    tol = 1e-9
    on = [jnp.where(finish[i] >= makespan * (1.0 - tol), 1.0, 0.0) for i in range(n)]
    for i in reversed(range(n)):
        preds = list(deps[i]) + ([unit_pred[i]] if unit_pred[i] is not None else [])
        for j in preds:
            binding = jnp.where(finish[j] >= start[i] * (1.0 - tol), 1.0, 0.0)
            on[j] = jnp.maximum(on[j], on[i] * binding)
    return tuple(on)


__all__ = ["Schedule", "list_schedule"]
