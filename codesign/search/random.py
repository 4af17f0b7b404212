"""Random search: the toolkit's one random distribution (:meth:`codesign.space.codec.Codec.sample`:
uniform in the codec's unit coordinates, log-scaled where the codec searches in log space,
rounded to allowed values), evaluated exactly in fixed-shape chunks.

Points come from the sweep's enumerator in random mode, so random search with seed s
evaluates exactly the points a ``mode: random`` sweep with seed s visits (point j of every
variant is the same draw: common random numbers across variants). The budget is split evenly
over the variants; the last chunk of each is masked, so exactly ``budget`` evaluations count.
"""
from typing import NamedTuple

import jax
import numpy as np

from ..objectives import Problem
from ..space.enumerate import Enumeration
from ..specs._pytree import pytree_dataclass, static
from . import archive as arch
from .base import Searcher, split_budget
from .chunked import merge_reduced
from .grid import chunk_fn, random_enum

DEFAULT_BUDGET = 5000


@pytree_dataclass
class RandomHyper:
    chunk: int = static(1024)
    keep: int = static(16)


class RandomState(NamedTuple):
    variant: int
    done: int  # samples evaluated in the current variant
    archive: arch.Archive


def key_seed(key) -> int:
    """The integer seed of ``jax.random.key(seed)`` (its last key word)."""
    return int(np.asarray(jax.random.key_data(key)).ravel()[-1] % (2 ** 31 - 1))


def random(problem: Problem, hyper: RandomHyper = RandomHyper(), budget: int | None = None) -> Searcher:
    """Random search: ``budget`` designs (split over variants) drawn from the one distribution of
    :meth:`codesign.space.codec.Codec.sample` (uniform in unit coordinates, log where the variable
    is, rounded), the same draws as a random-mode sweep with the same seed."""
    nv, d = len(problem.space.variants), problem.space.dim
    budget = DEFAULT_BUDGET if budget is None else int(budget)
    per = split_budget(budget, nv)
    chunk = min(hyper.chunk, max(16, 1 << (max(per) - 1).bit_length()))
    compiled = random_enum(problem)  # decoding: one program for every seed

    def init(key):
        return RandomState(0, 0, arch.empty(d, hyper.keep)), Enumeration(problem.space, "random", max(per),
                                                                          key_seed(key))

    def step(carry):
        (v, done, a), enum = carry
        n = min(chunk, per[v] - done)
        if n > 0:
            red = chunk_fn(problem, compiled, v, chunk, hyper.keep)(enum.start_args(done), np.int32(n))
            a = merge_reduced(a, v, red, count=n)
        done += max(n, 0)
        if done >= per[v]:
            v, done = v + 1, 0
        return RandomState(v, done, a), enum

    def fraction(carry):
        s = carry[0]
        return min(1.0, (sum(per[:s.variant]) + s.done) / max(budget, 1))

    return Searcher("random", init, step, lambda c: c[0].variant >= nv, lambda c: c[0].archive, fraction)
