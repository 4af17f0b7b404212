"""The relaxed problem the gradient searcher descends, and one compiled block of descent.

At smooth fidelity (p-norm max, relaxed ceil; integers as reals) each start minimises an
augmented Lagrangian of its scalarised objective over z in [0, 1]^d:

.. math:: \\mathcal{L}(z) = \\sum_i w_i f_i(x(z)) + \\sum_j \\tfrac{\\rho}{2}
          \\max\\!\\big(0,\\, g_j + \\mu + \\lambda_j / \\rho\\big)^2 - \\tfrac{\\lambda_j^2}{2\\rho},
          \\qquad f_i = s_i \\ln m_i,

with g the problem's normalised constraints, extra ε-constraints f_i - ε_i <= 0 (Pareto
fronts), a small margin μ, and the multiplier update λ ← max(0, λ + ρ g) after each block
(Nocedal & Wright, *Numerical Optimization*, 2nd ed., §17.4). Steps are Adam directions
(Kingma & Ba 2015, via ``optax.scale_by_adam``) times a learning rate given per call,
projected back onto the unit box; ``mask`` freezes coordinates (integers during polish).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..model import METRIC_NAMES, Fidelity
from ..objectives import Problem
from ..objectives.objective import signed_log
from .codec import Codec
from .evaluator import compile_options, metric_plan

BIG = 1e9  # stands for "no ε-constraint" (finite, so that gradients stay finite)


def relaxed_terms(problem: Problem, variant: int, codec: Codec, metrics: tuple):
    """(z, p) -> (f (n_obj,), g (n_g,)) at smooth fidelity with p-norm sharpness p.

    ``p`` may be traced: the smooth max/min use it only in arithmetic, so one compiled
    program serves the whole continuation p0 -> p1 (coarse, well-conditioned landscape
    first; close to the exact max/min at the end).
    """
    idx, signs = metric_plan(metrics)
    exact_only = np.array([n == "divisibility" for n in problem.constraints.names])

    def terms(z, p):
        x = codec.decode(z)
        ev = problem.evaluate(variant, x, Fidelity(smooth=True, sharpness=p))
        m = jnp.stack([getattr(ev.metrics, METRIC_NAMES[i]) for i in idx])
        if not exact_only.any():
            return signed_log(m, signs), ev.violations
        # Divisibility is exact-only (0 when smooth); its order parts stay as smooth bounds.
        order = _order_bounds(problem.space.apply(problem.space.variants[variant].specs, x))
        return signed_log(m, signs), jnp.where(exact_only, order, ev.violations)

    return terms


def _order_bounds(specs):
    """The relaxable part of the divisibility rules, as one smooth-enough g <= 0:
    pp <= layers, tp <= heads and, for a MoE, ep <= tp and ep <= experts."""
    _, _, w, m, _ = specs
    g = jnp.maximum(jnp.log(m.pp / w.layers), jnp.log(m.tp / w.n_heads))
    moe = jnp.maximum(jnp.log(m.ep / m.tp), jnp.log(m.ep / jnp.maximum(w.n_experts, 1.0)))
    return jnp.where(w.n_experts > 0, jnp.maximum(g, moe), g)


@functools.lru_cache(maxsize=64)
def descent_block(problem: Problem, variant: int, codec: Codec, metrics: tuple, inner: int):
    """Jitted: ``inner`` projected Adam steps on every start at once, then one multiplier
    update. Arrays lead with the start axis S."""
    terms = relaxed_terms(problem, variant, codec, metrics)
    adam = optax.scale_by_adam()

    def lagrangian(z, w, eps, lam, rho, margin, p):
        f, g = terms(z, p)
        g = jnp.concatenate([g, f - eps]) + margin
        pen = 0.5 * rho * jnp.maximum(0.0, g + lam / rho) ** 2 - 0.5 * lam ** 2 / rho
        j = jnp.dot(w, f)
        return j + jnp.sum(pen), (j, g - margin)

    vg = jax.value_and_grad(lagrangian, has_aux=True)

    def one_start(z, opt, lam, rho, w, eps, mask, best_z, best_j, key, lrs, margin, p):
        def body(carry, inp):
            z, opt, best_z, best_j = carry
            lr, k = inp
            (val, (j, g)), grad = vg(z, w, eps, lam, rho, margin, p)
            ok = jnp.isfinite(val) & jnp.all(jnp.isfinite(grad))
            # Smooth-feasible iterates are remembered for repair; NaN points restart.
            better = ok & (jnp.max(g) <= 0.0) & (j < best_j)
            best_z, best_j = jnp.where(better, z, best_z), jnp.where(better, j, best_j)
            upd, opt2 = adam.update(jnp.where(ok, grad, 0.0) * mask, opt)
            z_new = jnp.clip(z - lr * upd, 0.0, 1.0)
            z_new = jnp.where(ok, z_new, jnp.where(mask > 0, jax.random.uniform(k, z.shape), z))
            return (z_new, opt2, best_z, best_j), (val, j, g)

        keys = jax.random.split(key, inner)
        (z, opt, best_z, best_j), (vals, js, gs) = jax.lax.scan(body, (z, opt, best_z, best_j), (lrs, keys))
        # Multipliers from the constraints at the last iterate evaluated (one step stale:
        # saves an evaluation per block).
        g = jnp.where(jnp.isfinite(gs[-1]), gs[-1], 0.0)
        lam = jnp.maximum(0.0, lam + rho * (g + margin))
        return z, opt, lam, best_z, best_j, js[-1], g

    batched = jax.vmap(one_start, in_axes=(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None, None, None))

    def block(z, opt, lam, rho, w, eps, mask, best_z, best_j, seed, lrs, margin, p):
        keys = jax.random.split(jax.random.fold_in(jax.random.key(0), seed), z.shape[0])
        return batched(z, opt, lam, rho, w, eps, mask, best_z, best_j, keys, lrs, margin, p)

    return jax.jit(block, compiler_options=compile_options())


def adam_init(z: np.ndarray):
    """Zero Adam state for a (S, d) batch of starts, built on the host (no dispatch)."""
    s = len(z)
    return optax.ScaleByAdamState(count=np.zeros(s, np.int32), mu=np.zeros_like(z, np.float32),
                                  nu=np.zeros_like(z, np.float32))
