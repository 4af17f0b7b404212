"""The gradient searcher's algorithm: projected Adam on an augmented Lagrangian of the
relaxed problem, evosax-style (``init``/``ask``/``tell`` over an all-array state, the
hyper-parameters traced), for S starts at once.

``ask`` returns a :class:`Query` (the iterates and the Lagrangian's multipliers, penalty
weights, scalarisation and smooth-max sharpness); the value and gradient are evaluated
outside (:func:`codesign.search.relaxed.lagrangian_value_and_grad`); ``tell`` takes the
values AND gradients and takes one Adam step (Kingma & Ba 2015, ``optax.scale_by_adam``)
projected onto the unit box, remembers the best smooth-feasible iterate, restarts NaN
points at random, and every ``inner`` steps updates the multipliers,
λ ← max(0, λ + ρ (g + μ)), and the penalty, ρ ← min(ρ growth, ρ_max) (Nocedal & Wright,
*Numerical Optimization*, 2nd ed., §17.4). The step size follows a cosine from ``lr``
(``lr_dive`` in a dive stage) to ``lr_final`` over the phase; the smooth max/min sharpen
geometrically from ``sharpness0`` to ``sharpness1`` during descent and stay there while
diving.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .algorithm import Algorithm

_ADAM = optax.scale_by_adam()


class DescentState(NamedTuple):
    z: jax.Array  # (S, d) iterates in unit-box coordinates
    opt: optax.ScaleByAdamState  # per start (count (S,), mu, nu (S, d))
    lam: jax.Array  # (S, n_g) multipliers
    rho: jax.Array  # (S,) penalty weights
    best_z: jax.Array  # (S, d) best smooth-feasible iterate
    best_j: jax.Array  # (S,)
    mask: jax.Array  # (S, d) 1 = free, 0 = fixed (dived integers)
    j: jax.Array  # (S,) relaxed objective at the last step
    g: jax.Array  # (S, n_g) relaxed constraints at the last step (non-finite -> 0)
    w: jax.Array  # (S, n_f) scalarisation weights
    eps: jax.Array  # (S, n_f) ε-bounds (BIG: none)
    step: jax.Array  # int32: Adam steps taken in the current phase
    blocks: jax.Array  # int32: blocks of ``inner`` steps in the current phase
    dive: jax.Array  # bool: a dive stage (lr_dive, full sharpness) rather than descent
    key: jax.Array  # draws restarts of NaN points (set by ``ask``)


class Query(NamedTuple):
    z: jax.Array  # (S, d)
    lam: jax.Array
    rho: jax.Array
    w: jax.Array
    eps: jax.Array
    margin: jax.Array  # scalar μ
    p: jax.Array  # scalar smooth-max sharpness


def start(z, w, eps, lam, rho, mask, blocks: int, dive: bool, key) -> DescentState:
    """A phase's initial state (fresh Adam moments, no best iterate yet)."""
    s = z.shape[0]
    opt = optax.ScaleByAdamState(jnp.zeros(s, jnp.int32), jnp.zeros_like(z), jnp.zeros_like(z))
    return DescentState(z, opt, lam, rho, z, jnp.full(s, jnp.inf, z.dtype), mask, jnp.zeros(s, z.dtype),
                        jnp.zeros_like(lam), w, eps, jnp.int32(0), jnp.int32(blocks), jnp.asarray(dive), key)


def schedule(state: DescentState, params, inner: int):
    """(step size, sharpness) of the state's next step."""
    n = jnp.maximum(state.blocks * inner, 1)
    t = state.step / n
    lr0 = jnp.where(state.dive, params.lr_dive, params.lr)
    lr = params.lr_final + 0.5 * (lr0 - params.lr_final) * (1 + jnp.cos(jnp.pi * t))
    frac = jnp.where(state.dive, 1.0, (state.step // inner) / jnp.maximum(state.blocks - 1, 1))
    return lr, params.sharpness0 * (params.sharpness1 / params.sharpness0) ** frac


def algorithm(inner: int, d: int, n_f: int, n_g: int, starts: int) -> Algorithm:
    """The descent algorithm for ``starts`` starts of dimension ``d`` (``n_g`` constraints,
    ε-bounds included; ``n_f`` objective terms); multipliers update every ``inner`` steps."""

    def init(key, params):
        k_z, k_run = jax.random.split(key)
        z = jax.random.uniform(k_z, (starts, d))
        w = jnp.ones((starts, n_f)) / n_f
        return start(z, w, jnp.full((starts, n_f), 1e9), jnp.zeros((starts, n_g)),
                     jnp.full(starts, params.rho0, z.dtype), jnp.ones((starts, d)), 1, False, k_run)

    def ask(key, state, params):
        _, p = schedule(state, params, inner)
        q = Query(state.z, state.lam, state.rho, state.w, state.eps, jnp.asarray(params.margin, state.z.dtype), p)
        return q, state._replace(key=key)

    def one(z, opt, best_z, best_j, mask, key, lr, val, j, g, grad):
        ok = jnp.isfinite(val) & jnp.all(jnp.isfinite(grad))
        # Smooth-feasible iterates are remembered for repair; NaN points restart.
        better = ok & (jnp.max(g) <= 0.0) & (j < best_j)
        best_z, best_j = jnp.where(better, z, best_z), jnp.where(better, j, best_j)
        upd, opt = _ADAM.update(jnp.where(ok, grad, 0.0) * mask, opt)
        z_new = jnp.clip(z - lr * upd, 0.0, 1.0)
        z_new = jnp.where(ok, z_new, jnp.where(mask > 0, jax.random.uniform(key, z.shape), z))
        return z_new, opt, best_z, best_j

    def tell(query, fitness, state, params):
        val, j, g, grad = fitness  # (S,), (S,), (S, n_g) without the margin, (S, d)
        lr, _ = schedule(state, params, inner)
        keys = jax.random.split(state.key, state.z.shape[0])
        z, opt, best_z, best_j = jax.vmap(one, in_axes=(0, 0, 0, 0, 0, 0, None, 0, 0, 0, 0))(
            state.z, state.opt, state.best_z, state.best_j, state.mask, keys, lr, val, j, g, grad)
        g = jnp.where(jnp.isfinite(g), g, 0.0)
        end = (state.step % inner) == inner - 1  # a block ends: update multipliers and penalty
        # Multipliers from the constraints at the last iterate evaluated (one step stale).
        lam = jnp.where(end, jnp.maximum(0.0, state.lam + state.rho[:, None] * (g + query.margin)), state.lam)
        rho = jnp.where(end, jnp.minimum(state.rho * params.rho_growth, params.rho_max), state.rho)
        return state._replace(z=z, opt=opt, lam=lam, rho=rho.astype(state.rho.dtype), best_z=best_z, best_j=best_j,
                              j=j, g=g, step=state.step + 1)

    return Algorithm(init, ask, tell)
