"""Search algorithms in the evosax style: pure functions over an all-array state, with the
hyper-parameters in their own pytree so that they can be traced and vmapped.

    state = algo.init(key, params)
    x, state = algo.ask(key, state, params)         # candidates to evaluate
    state = algo.tell(x, fitness, state, params)    # fitness evaluated outside

``init``, ``ask`` and ``tell`` are jit-able and never read a hyper-parameter on the host,
so ``jax.vmap`` over a leaf of ``params`` (CMA-ES's initial step size, the gradient
searcher's learning rate) runs every lane in one program, each lane exactly a separate run.
What a candidate's fitness is (an exact evaluation, or a relaxed value and its gradient)
is the caller's business: :func:`evolve` takes it as a function. The host searchers
(:mod:`.cmaes`, :mod:`.gradient`) drive the same functions one compiled generation per
dispatch and own the budget, the archive of exact designs and progress (:mod:`.base`).
"""
from typing import Any, Callable, NamedTuple

import jax


class Algorithm(NamedTuple):
    init: Callable[..., Any]  # (key, params) -> state
    ask: Callable[..., Any]  # (key, state, params) -> (x, state)
    tell: Callable[..., Any]  # (x, fitness, state, params) -> state


def generation(algo: Algorithm, fitness_fn: Callable):
    """One pure generation ``(state, params, key) -> (state, (x, fitness))``: ask, evaluate
    with ``fitness_fn(x)``, tell."""
    def step(state, params, key):
        x, state = algo.ask(key, state, params)
        fit = fitness_fn(x)
        return algo.tell(x, fit, state, params), (x, fit)

    return step


def evolve(algo: Algorithm, fitness_fn: Callable, generations: int):
    """Pure ``(params, key) -> (final state, fitness of every generation)``: ``init`` then
    ``generations`` generations in one ``lax.scan`` (vmap it over ``params`` or ``key``)."""
    step = generation(algo, fitness_fn)

    def run(params, key):
        k_init, k_run = jax.random.split(key)

        def body(state, k):
            state, (_, fit) = step(state, params, k)
            return state, fit

        return jax.lax.scan(body, algo.init(k_init, params), jax.random.split(k_run, generations))

    return run
