"""The relaxed problem the gradient searcher descends, its Lagrangian's value and gradient,
and one compiled block of descent (:mod:`.descent` steps).

At smooth fidelity (p-norm max, relaxed ceil; integers as reals) each start minimises an
augmented Lagrangian of its scalarised objective over z in [0, 1]^d:

.. math:: \\mathcal{L}(z) = \\sum_i w_i f_i(x(z)) + \\sum_j \\tfrac{\\rho}{2}
          \\max\\!\\big(0,\\, g_j + \\mu + \\lambda_j / \\rho\\big)^2 - \\tfrac{\\lambda_j^2}{2\\rho},
          \\qquad f_i = s_i \\ln m_i,

with g the problem's normalised constraints, extra ε-constraints f_i - ε_i <= 0 (Pareto
fronts), a small margin μ, and the multiplier update λ ← max(0, λ + ρ g) after each block
(Nocedal & Wright, *Numerical Optimization*, 2nd ed., §17.4). Steps are Adam directions
(Kingma & Ba 2015, via ``optax.scale_by_adam``) projected back onto the unit box
(:mod:`.descent`); ``mask`` freezes coordinates (dived integers).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..model import METRIC_NAMES, Fidelity
from ..objectives import Problem
from ..objectives.objective import signed_log
from ..space.codec import Codec
from .descent import algorithm
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


def lagrangian_value_and_grad(problem: Problem, variant: int, codec: Codec, metrics: tuple):
    """Batched ``Query -> (L (S,), j (S,), g (S, n_g), dL/dz (S, d))``: the augmented
    Lagrangian of each start, its scalarised objective j = w . f, its constraints g (the
    problem's, then the ε-bounds f - ε) and the gradient, by reverse mode."""
    terms = relaxed_terms(problem, variant, codec, metrics)

    def lagrangian(z, w, eps, lam, rho, margin, p):
        f, g = terms(z, p)
        g = jnp.concatenate([g, f - eps]) + margin
        pen = 0.5 * rho * jnp.maximum(0.0, g + lam / rho) ** 2 - 0.5 * lam ** 2 / rho
        j = jnp.dot(w, f)
        return j + jnp.sum(pen), (j, g - margin)

    vg = jax.vmap(jax.value_and_grad(lagrangian, has_aux=True), in_axes=(0, 0, 0, 0, 0, None, None))

    def evaluate(q):
        (val, (j, g)), grad = vg(q.z, q.w, q.eps, q.lam, q.rho, q.margin, q.p)
        return val, j, g, grad

    return evaluate


@functools.lru_cache(maxsize=64)
def descent_block(problem: Problem, variant: int, codec: Codec, metrics: tuple, inner: int, starts: int):
    """Jitted ``(DescentState, hyper, key) -> DescentState``: ``inner`` steps of the descent
    algorithm (ask, value and gradient, tell) in one ``lax.scan``. Keyed on shapes, never on
    hyper-parameter values: ``hyper`` is traced."""
    n_g = len(problem.constraints.names) + len(metrics)
    algo = algorithm(inner, codec.dim, len(metrics), n_g, starts)
    evaluate = lagrangian_value_and_grad(problem, variant, codec, metrics)

    def block(state, hyper, key):
        def body(state, k):
            q, state = algo.ask(k, state, hyper)
            return algo.tell(q, evaluate(q), state, hyper), None

        return jax.lax.scan(body, state, jax.random.split(key, inner))[0]

    return jax.jit(block, compiler_options=compile_options())
