"""Random search: uniform samples of the unit box (log scale where the codec searches in
log space), rounded to allowed values and evaluated exactly, in fixed-shape chunks.

The budget is split evenly over the variants; the last chunk of each is masked to the
budget, so exactly ``budget`` evaluations are counted.
"""
import functools
from typing import NamedTuple

import jax
import numpy as np

from ..objectives import Problem
from ..specs._pytree import pytree_dataclass, static
from . import archive as arch
from .base import Searcher
from .chunked import evaluate_rows, merge_reduced, reduce_rows
from .codec import make_codec
from .evaluator import FAST_COMPILE

DEFAULT_BUDGET = 5000


@pytree_dataclass
class RandomHyper:
    chunk: int = static(1024)
    keep: int = static(16)
    auto_log: bool = static(True)


class RandomState(NamedTuple):
    variant: int
    done: int  # samples evaluated in the current variant
    seed: int
    counter: int  # chunks drawn so far
    archive: arch.Archive


@functools.lru_cache(maxsize=64)
def _sample_fn(problem: Problem, variant: int, codec, chunk: int, keep: int):
    """Jitted (seed, counter, n_valid) -> reduced rows of ``chunk`` uniform samples."""
    rows = evaluate_rows(problem, variant)
    d = codec.dim

    def sample(seed, counter, n_valid):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(0), seed), counter)
        u = jax.random.uniform(key, (chunk, d))
        x = codec.round(codec.decode(u))
        valid = jax.numpy.arange(chunk) < n_valid
        return reduce_rows(x, *rows(x), valid, keep)

    return jax.jit(sample, compiler_options=FAST_COMPILE)


def random(problem: Problem, hyper: RandomHyper = RandomHyper(), budget: int | None = None) -> Searcher:
    codec = make_codec(problem.space, hyper.auto_log)
    nv, d = len(problem.space.variants), codec.dim
    budget = DEFAULT_BUDGET if budget is None else int(budget)
    per = [budget // nv + (1 if v < budget % nv else 0) for v in range(nv)]
    chunk = min(hyper.chunk, max(16, 1 << (max(per) - 1).bit_length()))
    def fn(v):
        return _sample_fn(problem, v, codec, chunk, hyper.keep)

    def init(key):
        seed = int(np.asarray(jax.random.key_data(key)).ravel()[-1] % (2 ** 31 - 1))
        return RandomState(0, 0, seed, 0, arch.empty(d, hyper.keep))

    def step(state):
        v, done, seed, counter, a = state
        n = min(chunk, per[v] - done)
        if n > 0:
            a = merge_reduced(a, v, fn(v)(np.int32(seed), np.int32(counter), np.int32(n)), count=n)
        done += max(n, 0)
        if done >= per[v]:
            v, done = v + 1, 0
        return RandomState(v, done, seed, counter + 1, a)

    def fraction(state):
        return min(1.0, (sum(per[:state.variant]) + state.done) / max(budget, 1))

    return Searcher("random", init, step, lambda s: s.variant >= nv, lambda s: s.archive, fraction)
