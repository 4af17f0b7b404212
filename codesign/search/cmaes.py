"""CMA-ES baseline: (μ/μ_w, λ)-CMA-ES with rank-one and rank-μ covariance updates and
cumulative step-size adaptation, in the unit box, with restarts on stagnation.

Follows N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016),
eqs. (39)-(47) and the default parameters of its Table 1 (positive weights only). The
algorithm (:func:`algorithm`) is evosax-style: ``init``/``ask``/``tell`` over an all-array
:class:`CMAESState` with the hyper-parameters (:class:`CMAESHyper`: initial step size,
restart tolerance and patience) traced, so ``jax.vmap`` over them runs. Samples are
clipped to the box and rounded to allowed values (the codec) before exact evaluation; the
fitness is the objective for feasible designs and 1e3 + total violation otherwise
(:func:`~codesign.search.chunked.ranking_fitness`: feasible always wins), and ``tell`` adds
a quadratic penalty on the distance outside the box. Restarts from a new random mean when
the step size collapses or the best fitness stalls (:func:`~.combinators.restart_on`).
The host searcher runs one compiled generation — ask, evaluate, tell — per dispatch.
"""
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from ..objectives import Problem
from ..specs._pytree import pytree_dataclass, static
from . import archive as arch
from .algorithm import Algorithm
from .base import Searcher, split_budget
from .chunked import evaluate_rows, merge_reduced, ranking_fitness, reduce_rows
from ..space.codec import make_codec
from .evaluator import compile_options
from .combinators import restart_on

DEFAULT_BUDGET = 5000
BOX_PENALTY = 10.0  # fitness per squared unit-box distance outside [0, 1]^n


@pytree_dataclass
class CMAESHyper:
    """Hyper-parameters: leaves are traced (vmappable); static fields set shapes."""

    sigma0: float = 0.3  # initial step size in unit-box coordinates
    tol_sigma: float = 1e-4  # restart when sigma x sqrt(max eigenvalue) falls below this
    patience: int = 40  # generations without improvement before a restart
    popsize: int = static(16)  # λ (Hansen's default 4 + 3 ln d is ~9 for d = 5)
    keep: int = static(16)
    auto_log: bool = static(True)


class CMAESState(NamedTuple):
    mean: jax.Array  # (n,) in unit-box coordinates
    sigma: jax.Array
    cov: jax.Array  # (n, n)
    p_sigma: jax.Array
    p_c: jax.Array
    gen: jax.Array  # generations since the last restart
    best: jax.Array  # best fitness since the last restart
    stall: jax.Array  # generations since the best improved
    eigvecs: jax.Array  # B of cov = B D^2 B^T at the last ask
    eigvals: jax.Array  # D^2


def _constants(n: int, lam: int):
    mu = lam // 2
    w = np.log((lam + 1) / 2) - np.log(np.arange(1, mu + 1))
    w = w / w.sum()
    mu_eff = 1.0 / np.sum(w ** 2)
    c_sigma = (mu_eff + 2) / (n + mu_eff + 5)
    d_sigma = 1 + 2 * max(0.0, math.sqrt((mu_eff - 1) / (n + 1)) - 1) + c_sigma
    c_c = (4 + mu_eff / n) / (n + 4 + 2 * mu_eff / n)
    c_1 = 2 / ((n + 1.3) ** 2 + mu_eff)
    c_mu = min(1 - c_1, 2 * (mu_eff - 2 + 1 / mu_eff) / ((n + 2) ** 2 + mu_eff))
    chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n ** 2))
    return mu, jnp.asarray(w, jnp.float32), mu_eff, c_sigma, d_sigma, c_c, c_1, c_mu, chi_n


def core(n: int, lam: int) -> Algorithm:
    """CMA-ES without restarts over [0, 1]^n (x is the unclipped sample, fitness minimised)."""
    mu, w, mu_eff, c_s, d_s, c_c, c_1, c_mu, chi_n = _constants(n, lam)

    def init(key, params):
        zero = jnp.zeros(())  # the default float type (float32, or float64 under x64)
        return CMAESState(jax.random.uniform(key, (n,)), jnp.asarray(params.sigma0, zero.dtype), jnp.eye(n),
                          jnp.zeros(n), jnp.zeros(n), zero, zero + jnp.inf, zero, jnp.eye(n), jnp.ones(n))

    def ask(key, state, params):
        vals, vecs = jnp.linalg.eigh(state.cov)
        d = jnp.sqrt(jnp.maximum(vals, 1e-20))
        ys = (jax.random.normal(key, (lam, n)) * d) @ vecs.T  # y = B D z
        return state.mean + state.sigma * ys, state._replace(eigvecs=vecs, eigvals=vals)

    def tell(x, fitness, state, params):
        inside = jnp.clip(x, 0.0, 1.0)
        fit = fitness + BOX_PENALTY * jnp.sum((x - inside) ** 2, axis=-1)
        ys = (x - state.mean) / state.sigma
        order = jnp.argsort(fit)
        y_w = w @ ys[order[:mu]]
        mean = state.mean + state.sigma * y_w
        vecs, d = state.eigvecs, jnp.sqrt(jnp.maximum(state.eigvals, 1e-20))
        inv_sqrt = (vecs / d) @ vecs.T
        p_sigma = (1 - c_s) * state.p_sigma + math.sqrt(c_s * (2 - c_s) * mu_eff) * inv_sqrt @ y_w
        sigma = state.sigma * jnp.exp(c_s / d_s * (jnp.linalg.norm(p_sigma) / chi_n - 1))
        h_sigma = (jnp.linalg.norm(p_sigma) / jnp.sqrt(1 - (1 - c_s) ** (2 * (state.gen + 1)))
                   < (1.4 + 2 / (n + 1)) * chi_n).astype(jnp.float32)
        p_c = (1 - c_c) * state.p_c + h_sigma * math.sqrt(c_c * (2 - c_c) * mu_eff) * y_w
        top = ys[order[:mu]]
        rank_mu = (top * w[:, None]).T @ top
        cov = ((1 - c_1 - c_mu) * state.cov + c_1 * (jnp.outer(p_c, p_c) + (1 - h_sigma) * c_c * (2 - c_c) * state.cov)
               + c_mu * rank_mu)
        cov = 0.5 * (cov + cov.T)
        best = jnp.minimum(state.best, fit[order[0]])
        stall = jnp.where(fit[order[0]] < state.best - 1e-9, 0.0, state.stall + 1)
        return CMAESState(mean, sigma, cov, p_sigma, p_c, state.gen + 1, best, stall, state.eigvecs, state.eigvals)

    return Algorithm(init, ask, tell)


def stalled(state: CMAESState, params) -> jax.Array:
    """Restart test: the spread sigma sqrt(max eigenvalue) collapsed, no improvement for
    ``patience`` generations, or a non-finite covariance."""
    spread = state.sigma * jnp.sqrt(jnp.max(jnp.maximum(state.eigvals, 0.0)))
    return (spread < params.tol_sigma) | (state.stall > params.patience) | ~jnp.all(jnp.isfinite(state.cov))


def algorithm(n: int, lam: int) -> Algorithm:
    """CMA-ES with restarts on stagnation (the searcher's algorithm)."""
    return restart_on(core(n, lam), stalled)


def fitness_fn(problem: Problem, variant: int, codec):
    """Unit-box samples (λ, n) -> (designs, rows, ranking fitness): clip, round, evaluate."""
    rows = evaluate_rows(problem, variant)

    def fitness(z):
        x = codec.sample(jnp.clip(z, 0.0, 1.0))
        mat, obj, g, ok = rows(x)
        return x, (mat, obj, g, ok), ranking_fitness(obj, g, ok)

    return fitness


@functools.lru_cache(maxsize=64)
def _generation_fn(problem: Problem, variant: int, codec, popsize: int, keep: int):
    """Jitted (state, hyper, key) -> (next state, reduced rows of the generation); keyed on
    shapes only, never on hyper-parameter values."""
    algo = algorithm(codec.dim, popsize)
    evaluate = fitness_fn(problem, variant, codec)

    def generation(state, hyper, key):
        z, state = algo.ask(key, state, hyper)
        x, (mat, obj, g, ok), fit = evaluate(z)
        return algo.tell(z, fit, state, hyper), reduce_rows(x, mat, obj, g, ok, jnp.ones(popsize, bool), keep)

    return jax.jit(generation, compiler_options=compile_options(many_points=True))


@functools.lru_cache(maxsize=64)
def _init_fn(n: int, popsize: int):
    return jax.jit(algorithm(n, popsize).init)


class CMAESRun(NamedTuple):
    variant: int
    generation: int  # in the current variant
    key: jax.Array  # of the current variant
    state: object  # RestartState of CMAESState
    archive: arch.Archive


def cmaes(problem: Problem, hyper: CMAESHyper = CMAESHyper(), budget: int | None = None) -> Searcher:
    """CMA-ES over the unit cube of ``problem``'s numeric variables, per categorical variant
    (Hansen 2016, "The CMA Evolution Strategy: A Tutorial"), with rounding to allowed values inside
    the compiled generation; ``budget`` exact evaluations in all (split over variants)."""
    codec = make_codec(problem.space, hyper.auto_log)
    nv, n, lam = len(problem.space.variants), codec.dim, hyper.popsize
    budget = DEFAULT_BUDGET if budget is None else int(budget)
    if budget < lam * nv:
        raise ConfigError(f"budget = {budget}: CMA-ES needs at least one generation per variant "
                          f"(popsize {lam} x {nv} variants = {lam * nv} evaluations)")
    gens = [b // lam for b in split_budget(budget, nv)]
    keep = min(hyper.keep, lam)

    def start(key, v):
        kv = jax.random.fold_in(key, v)
        return CMAESRun(v, 0, kv, _init_fn(n, lam)(kv, hyper), None)

    def init(key):
        return start(key, 0)._replace(archive=arch.empty(n, hyper.keep)), key

    def step(carry):
        (v, gen, kv, state, a), key = carry
        state, red = _generation_fn(problem, v, codec, lam, keep)(state, hyper, jax.random.fold_in(kv, gen + 1))
        a = merge_reduced(a, v, red, count=lam)
        gen += 1
        if gen >= gens[v] and v + 1 < nv:
            return start(key, v + 1)._replace(archive=a), key
        return CMAESRun(v + (gen >= gens[v]), gen, kv, state, a), key

    def fraction(carry):
        s = carry[0]
        return min(1.0, (sum(gens[:s.variant]) + s.generation) / max(sum(gens), 1))

    return Searcher("cmaes", init, step, lambda c: c[0].variant >= nv, lambda c: c[0].archive, fraction)
