"""CMA-ES baseline: (μ/μ_w, λ)-CMA-ES with rank-one and rank-μ covariance updates and
cumulative step-size adaptation, in the unit box, with restarts on stagnation.

Follows N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016),
eqs. (39)-(47) and the default parameters of its Table 1 (positive weights only). Samples
are clipped to the box and rounded to allowed values before exact evaluation; the fitness
is the objective for feasible designs and 1e3 + total violation otherwise (feasible always
wins), plus a quadratic penalty on the distance outside the box. One compiled program per
variant runs a whole generation — sample, evaluate, rank, update — and restarts from a new
random mean when the step size collapses or the best fitness stalls.
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
from .base import Searcher
from .chunked import evaluate_rows, merge_reduced, reduce_rows
from .codec import make_codec
from .evaluator import compile_options

DEFAULT_BUDGET = 5000
INFEASIBLE = 1e3


@pytree_dataclass
class CMAESHyper:
    sigma0: float = 0.3  # initial step size in unit-box coordinates
    tol_sigma: float = 1e-4  # restart when sigma x sqrt(max eigenvalue) falls below this
    popsize: int = static(16)  # λ (Hansen's default 4 + 3 ln d is ~9 for d = 5)
    patience: int = static(40)  # generations without improvement before a restart
    keep: int = static(16)
    auto_log: bool = static(True)


class Dist(NamedTuple):  # one variant's search distribution (device arrays)
    mean: jax.Array
    sigma: jax.Array
    cov: jax.Array
    p_sigma: jax.Array
    p_c: jax.Array
    gen: jax.Array  # generations since the last restart
    best: jax.Array  # best fitness since the last restart
    stall: jax.Array


class CMAESState(NamedTuple):
    variant: int
    generation: int  # in the current variant
    seed: int
    dist: Dist
    archive: arch.Archive


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


def _fresh(key, n: int, sigma0: float) -> Dist:
    return Dist(jax.random.uniform(key, (n,)), jnp.float32(sigma0), jnp.eye(n), jnp.zeros(n), jnp.zeros(n),
                jnp.float32(0), jnp.float32(jnp.inf), jnp.float32(0))


@functools.lru_cache(maxsize=64)
def _generation_fn(problem: Problem, variant: int, codec, hyper: CMAESHyper, keep: int):
    """Jitted (dist, seed, counter) -> (next dist, reduced rows of the generation)."""
    n, lam = codec.dim, hyper.popsize
    mu, w, mu_eff, c_s, d_s, c_c, c_1, c_mu, chi_n = _constants(n, lam)
    rows = evaluate_rows(problem, variant)

    def generation(dist: Dist, seed, counter):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(0), seed), counter)
        k_sample, k_restart = jax.random.split(key)
        vals, vecs = jnp.linalg.eigh(dist.cov)
        d = jnp.sqrt(jnp.maximum(vals, 1e-20))
        zs = jax.random.normal(k_sample, (lam, n))
        ys = (zs * d) @ vecs.T  # y = B D z
        xs = dist.mean + dist.sigma * ys
        inside = jnp.clip(xs, 0.0, 1.0)
        x = codec.round(codec.decode(inside))
        mat, obj, g, ok = rows(x)
        viol = jnp.sum(jnp.where(jnp.isfinite(g), jnp.maximum(g, 0.0), 1e6), axis=-1)
        fit = jnp.where(ok, obj, INFEASIBLE + jnp.minimum(viol, 1e6))
        fit = jnp.where(jnp.isfinite(fit), fit, 1e9) + 10.0 * jnp.sum((xs - inside) ** 2, axis=-1)
        order = jnp.argsort(fit)
        y_w = w @ ys[order[:mu]]
        mean = dist.mean + dist.sigma * y_w
        inv_sqrt = (vecs / d) @ vecs.T
        p_sigma = (1 - c_s) * dist.p_sigma + math.sqrt(c_s * (2 - c_s) * mu_eff) * inv_sqrt @ y_w
        sigma = dist.sigma * jnp.exp(c_s / d_s * (jnp.linalg.norm(p_sigma) / chi_n - 1))
        h_sigma = (jnp.linalg.norm(p_sigma) / jnp.sqrt(1 - (1 - c_s) ** (2 * (dist.gen + 1)))
                   < (1.4 + 2 / (n + 1)) * chi_n).astype(jnp.float32)
        p_c = (1 - c_c) * dist.p_c + h_sigma * math.sqrt(c_c * (2 - c_c) * mu_eff) * y_w
        top = ys[order[:mu]]
        rank_mu = (top * w[:, None]).T @ top
        cov = ((1 - c_1 - c_mu) * dist.cov + c_1 * (jnp.outer(p_c, p_c) + (1 - h_sigma) * c_c * (2 - c_c) * dist.cov)
               + c_mu * rank_mu)
        cov = 0.5 * (cov + cov.T)
        best = jnp.minimum(dist.best, fit[order[0]])
        stall = jnp.where(fit[order[0]] < dist.best - 1e-9, 0.0, dist.stall + 1)
        new = Dist(mean, sigma, cov, p_sigma, p_c, dist.gen + 1, best, stall)
        spread = sigma * jnp.sqrt(jnp.max(jnp.maximum(vals, 0.0)))
        restart = (spread < hyper.tol_sigma) | (stall > hyper.patience) | ~jnp.all(jnp.isfinite(cov))
        new = jax.tree.map(lambda a, b: jnp.where(restart, a, b), _fresh(k_restart, n, hyper.sigma0), new)
        return new, reduce_rows(x, mat, obj, g, ok, jnp.ones(lam, bool), keep)

    return jax.jit(generation, compiler_options=compile_options(many_points=True))


def cmaes(problem: Problem, hyper: CMAESHyper = CMAESHyper(), budget: int | None = None) -> Searcher:
    codec = make_codec(problem.space, hyper.auto_log)
    nv, n, lam = len(problem.space.variants), codec.dim, hyper.popsize
    budget = DEFAULT_BUDGET if budget is None else int(budget)
    if budget < lam * nv:
        raise ConfigError(f"budget = {budget}: CMA-ES needs at least one generation per variant "
                          f"(popsize {lam} x {nv} variants = {lam * nv} evaluations)")
    gens = [(budget // nv + (1 if v < budget % nv else 0)) // lam for v in range(nv)]
    keep = min(hyper.keep, lam)

    def fn(v):
        return _generation_fn(problem, v, codec, hyper, keep)

    def init(key):
        seed = int(np.asarray(jax.random.key_data(key)).ravel()[-1] % (2 ** 31 - 1))
        return CMAESState(0, 0, seed, _start(seed, 0), arch.empty(n, hyper.keep))

    def _start(seed, v):
        rng = np.random.default_rng([seed, v])
        return Dist(rng.random(n).astype(np.float32), np.float32(hyper.sigma0), np.eye(n, dtype=np.float32),
                    np.zeros(n, np.float32), np.zeros(n, np.float32), np.float32(0), np.float32(np.inf),
                    np.float32(0))

    def step(state):
        v, gen, seed, dist, a = state
        dist, red = fn(v)(dist, np.int32(seed), np.int32(gen + 100003 * v))
        a = merge_reduced(a, v, red, count=lam)
        gen += 1
        if gen >= gens[v]:
            v, gen = v + 1, 0
            if v < nv:
                dist = _start(seed, v)
        return CMAESState(v, gen, seed, dist, a)

    def fraction(state):
        return min(1.0, (sum(gens[:state.variant]) + state.generation) / max(sum(gens), 1))

    return Searcher("cmaes", init, step, lambda s: s.variant >= nv, lambda s: s.archive, fraction)
