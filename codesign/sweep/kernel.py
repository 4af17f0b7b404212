"""One compiled sweep step: decode a chunk of flat indices, evaluate, reduce on the device.

The chunk is split evenly over a 1-D mesh (axis ``"d"``) of every device taking part — the
local ones, or all processes' under ``jax.distributed``. Inside ``jax.shard_map`` each device
decodes and evaluates its block, then reduces it:

* counts (points, feasible, each constraint violated) and histograms of every metric
  (:mod:`.histogram`; all points and feasible points) are summed over devices (``psum``);
* top-k per ranked quantity: each device's k best feasible points (``lax.top_k``, ties to
  the lower index), rows and positions gathered to every device;
* Pareto candidates: feasible points not dominated by a pivot set (up to ``pivots`` points
  of the front found so far plus each block's minimiser of every Pareto metric), reduced to
  the survivors' own front, at most ``capacity`` rows per device; a flag tells the host when
  a bound was hit and it must run the exact pass (:func:`make_front_pass`) for the chunk.

Every output is replicated, so each process reads the same small arrays; the host merges
them exactly (:mod:`.reductions`).
"""
import dataclasses

import jax
import jax.numpy as jnp

from ..model import METRIC_NAMES
from ..objectives import sense as metric_sense
from ..objectives.batch import evaluate_rows
from ..objectives.pareto import dominated_by, front2_mask
from .histogram import Bins

AXIS = "d"


@dataclasses.dataclass(frozen=True)
class ReduceSpec:
    """Static description of the on-device reductions (part of the compiled program)."""

    columns: tuple[str, ...]  # row columns: design variables, metrics, "objective"
    ranked: tuple[str, ...]  # top-k quantities: "objective" or metric names
    k: int
    pareto: tuple[str, ...]  # Pareto metrics (empty: no front)
    bins: Bins
    constraints: tuple[str, ...]
    capacity: int = 256
    pivots: int = 64

    def col(self, name: str) -> int:
        return self.columns.index(name)

    def sense(self, name: str) -> float:
        return 1.0 if name == "objective" else metric_sense(name)

    @property
    def counters(self) -> tuple[str, ...]:
        return ("points", "feasible", "nonfinite_objective", *(f"violates {c}" for c in self.constraints))


def make_spec(problem, settings) -> ReduceSpec:
    ranked = settings.top_k_metrics or tuple(dict.fromkeys(("objective", *settings.pareto)))
    return ReduceSpec(columns=(*problem.space.names, *METRIC_NAMES, "objective"), ranked=ranked,
                      k=settings.top_k, pareto=settings.pareto,
                      bins=Bins(settings.bins_per_octave, settings.min_exp2, settings.max_exp2),
                      constraints=problem.constraints.names, capacity=settings.pareto_capacity)


def _evaluate_block(problem, enum, variant, args, n_valid, block):
    """rows (B, ncol), feasible, valid, violations, offsets for this device's block."""
    offsets = jax.lax.axis_index(AXIS) * block + jnp.arange(block, dtype=jnp.int32)
    valid = offsets < n_valid
    x = enum.decode(args, offsets)
    mat, obj, g, feasible = evaluate_rows(problem, variant)(x)
    rows = jnp.concatenate([x.astype(jnp.float32), mat, obj[:, None].astype(jnp.float32)], -1)
    return rows, feasible & valid, valid, g, offsets


def _pareto_g(spec, rows, feasible):
    """Sense-adjusted Pareto values (minimise all), +inf where infeasible or non-finite."""
    g = jnp.stack([spec.sense(m) * rows[:, spec.col(m)] for m in spec.pareto], -1)
    ok = feasible & jnp.all(jnp.isfinite(g), -1)
    return jnp.where(ok[:, None], g, jnp.inf), ok


def _front_candidates(spec, rows, feas, offsets, piv_g, piv_pos):
    """(overflow flag, positions, rows) of at most ``capacity`` candidates of this block.

    Pivot filter first (cheap, exact: pivots are real points), then the survivors (at most
    ``4 capacity``) are reduced exactly to their own front (two metrics, by a sort) or by more
    pivots (three or more). The flag is set when a bound was exceeded; the host then runs the
    exact :func:`make_front_pass` for this chunk.
    """
    g, ok = _pareto_g(spec, rows, feas)
    lg, lpos = _local_pivots(g, offsets)
    keep = ok & ~dominated_by(g, offsets, jnp.concatenate([piv_g, lg]), jnp.concatenate([piv_pos, lpos]))
    pre, n_pre = _compact(keep, 4 * spec.capacity)
    at = jnp.maximum(pre, 0)
    pg, ppos = jnp.where((pre >= 0)[:, None], g[at], jnp.inf), offsets[at]
    if len(spec.pareto) == 2:
        # Few survivors (the usual case once a front is known): sort only those. Too many (the
        # first chunks): the exact front of the whole block, by one sort of the block.
        def few():
            sel, n = _compact(front2_mask(pg, pre >= 0), spec.capacity)
            return at[jnp.maximum(sel, 0)], jnp.where(sel >= 0, 0, -1), n

        def many():
            sel, n = _compact(front2_mask(g, keep), spec.capacity)
            return jnp.maximum(sel, 0), jnp.where(sel >= 0, 0, -1), n

        rows_at, valid, n = jax.lax.cond(n_pre > 4 * spec.capacity, many, few)
        overflow = n > spec.capacity
    else:
        front = (pre >= 0) & ~dominated_by(pg, ppos, pg[:spec.capacity], ppos[:spec.capacity])
        sel, n = _compact(front, spec.capacity)
        rows_at, valid = at[jnp.maximum(sel, 0)], jnp.where(sel >= 0, 0, -1)
        overflow = (n_pre > 4 * spec.capacity) | (n > spec.capacity)
    return overflow[None], jnp.where(valid >= 0, offsets[rows_at], -1), rows[rows_at]


def _local_pivots(g, pos):
    """Each block's minimiser of every value: real points, cheap, and on the front."""
    best = jnp.argmin(g, axis=0)
    return g[best], pos[best]


def _compact(mask, capacity):
    """Positions of the first ``capacity`` True entries (-1 padded) and the count."""
    slot = jnp.cumsum(mask.astype(jnp.int32)) - 1
    slot = jnp.where(mask & (slot < capacity), slot, capacity)
    sel = jnp.full(capacity + 1, -1, jnp.int32).at[slot].set(jnp.arange(mask.shape[0], dtype=jnp.int32))
    return sel[:capacity], jnp.sum(mask.astype(jnp.int32))


def make_step(problem, enum, variant: int, spec: ReduceSpec, mesh, chunk: int):
    """jit(args, n_valid, piv_g, piv_pos) -> dict of replicated reductions for one chunk."""
    ndev = mesh.devices.size
    block = chunk // ndev
    bins = spec.bins
    nm = len(METRIC_NAMES)

    def local(args, n_valid, piv_g, piv_pos):
        rows, feas, valid, g_viol, offsets = _evaluate_block(problem, enum, variant, args, n_valid, block)
        # Evaluate once: without the barrier XLA fuses the model into every consumer below.
        rows = jax.lax.optimization_barrier(rows)
        out = {}
        obj_ok = jnp.isfinite(rows[:, -1])
        viol = jnp.sum(valid[:, None] & (g_viol > 0), 0, dtype=jnp.int32)
        head = jnp.stack([valid.sum(), feas.sum(), (valid & ~obj_ok).sum()]).astype(jnp.int32)
        counts = jnp.concatenate([head, viol])
        out["counts"] = jax.lax.psum(counts, AXIS)
        metric_rows = rows[:, len(spec.columns) - 1 - nm:-1]  # columns: x, metrics, objective
        idx = bins.index(metric_rows) + bins.size * (2 * jnp.arange(nm, dtype=jnp.int32) + feas[:, None])
        idx = jnp.where(valid[:, None], idx, 2 * nm * bins.size)
        hist = jnp.zeros(2 * nm * bins.size, jnp.int32).at[idx.ravel()].add(1, mode="drop")
        out["hist"] = jax.lax.psum(hist, AXIS).reshape(nm, 2, bins.size)
        for name in spec.ranked:
            key = spec.sense(name) * rows[:, spec.col(name)]
            key = jnp.where(feas & jnp.isfinite(key), key, jnp.inf)
            neg, at = jax.lax.top_k(-key, min(spec.k, block))
            out[f"top:{name}"] = (-neg, offsets[at], rows[at])
        if spec.pareto:
            out["front"] = _front_candidates(spec, rows, feas, offsets, piv_g, piv_pos)
        return out

    def step(args, n_valid, piv_g, piv_pos):
        out_specs = {"counts": jax.P(), "hist": jax.P()}
        for name in spec.ranked:
            out_specs[f"top:{name}"] = (jax.P(AXIS),) * 3
        if spec.pareto:
            out_specs["front"] = (jax.P(AXIS),) * 3
        f = jax.shard_map(local, mesh=mesh, in_specs=(jax.P(),) * 4, out_specs=out_specs)
        return _replicate(f(args, n_valid, piv_g, piv_pos), mesh)

    return jax.jit(step)


def _replicate(tree, mesh):
    rep = jax.NamedSharding(mesh, jax.P())
    return jax.tree.map(lambda a: jax.reshard(a, rep), tree)


def make_front_pass(problem, enum, variant: int, spec: ReduceSpec, mesh, chunk: int):
    """Exact fallback: every feasible row of the chunk with its position (-1 if not a candidate)."""
    block = chunk // mesh.devices.size

    def local(args, n_valid):
        rows, feas, _, _, offsets = _evaluate_block(problem, enum, variant, args, n_valid, block)
        _, ok = _pareto_g(spec, rows, feas)
        return jnp.where(ok, offsets, -1), rows

    f = jax.shard_map(local, mesh=mesh, in_specs=(jax.P(), jax.P()), out_specs=(jax.P(AXIS), jax.P(AXIS)))
    return jax.jit(lambda args, n_valid: _replicate(f(args, n_valid), mesh))


def make_rows(problem, enum, variant: int, mesh, chunk: int):
    """Full rows of a chunk (for --rows): offsets, rows, feasible; replicated."""
    block = chunk // mesh.devices.size

    def local(args, n_valid):
        rows, feas, _, _, offsets = _evaluate_block(problem, enum, variant, args, n_valid, block)
        return offsets, rows, feas

    f = jax.shard_map(local, mesh=mesh, in_specs=(jax.P(), jax.P()), out_specs=(jax.P(AXIS),) * 3)
    return jax.jit(lambda args, n_valid: _replicate(f(args, n_valid), mesh))
