"""Combinators over :class:`~codesign.search.algorithm.Algorithm`: behaviour shared by
searchers instead of copied into each.

* :func:`restart_on` — a fresh ``init`` whenever a stall test fires (IPOP-free restarts:
  Auger & Hansen 2005 without the population growth);
* budgets, the archive of exact designs and progress are host concerns, owned once by the
  driver (:func:`codesign.search.base.run`) for every searcher.
"""
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from .algorithm import Algorithm


class RestartState(NamedTuple):
    inner: Any  # the wrapped algorithm's state
    key: jax.Array  # draws the next fresh start
    restarts: jax.Array  # int32: restarts so far


def restart_on(algo: Algorithm, stalled: Callable[[Any, Any], jax.Array]) -> Algorithm:
    """``algo`` restarted from ``algo.init`` (a new random start) after every ``tell`` at
    which ``stalled(state, params)`` is true; jit- and vmap-friendly (a select, not a branch)."""
    def init(key, params):
        k_inner, k_next = jax.random.split(key)
        return RestartState(algo.init(k_inner, params), k_next, jnp.int32(0))

    def ask(key, state, params):
        x, inner = algo.ask(key, state.inner, params)
        return x, state._replace(inner=inner)

    def tell(x, fitness, state, params):
        inner = algo.tell(x, fitness, state.inner, params)
        k_next, k_fresh = jax.random.split(state.key)
        stop = stalled(inner, params)
        fresh = algo.init(k_fresh, params)
        inner = jax.tree.map(lambda a, b: jnp.where(stop, a, b), fresh, inner)
        return RestartState(inner, k_next, state.restarts + stop.astype(jnp.int32))

    return Algorithm(init, ask, tell)
