"""One meaning of "random": random search and the sweep's random mode draw the same points
(the codec's distribution) on the search benchmark's space."""
import math
import os

import jax.numpy as jnp
import numpy as np
import pytest
import yaml

from codesign.config import load_problem
from codesign.search import optimize
from codesign.search.evaluator import exact_batch
from codesign.space.enumerate import Enumeration

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "experiments", "search_benchmark.yaml")


@pytest.fixture(scope="module")
def problem():
    with open(CONFIG) as f:
        return load_problem(yaml.safe_load(f), extra_keys=("search", "title"))


def draws(problem, n, seed):
    en = Enumeration(problem.space, "random", n, seed)
    return np.asarray(en.decode(en.start_args(0), jnp.arange(n, dtype=jnp.int32)), float)


def test_distribution_is_uniform_in_unit_coordinates(problem):
    """pp in 1..80 is log-scaled by the codec: P(pp <= 8) = P(z < ln 8.5 / ln 80) = 0.488; the
    batch takes every integer 1..512 (not only its 34 grid values)."""
    x = draws(problem, 8192, seed=3)
    names = problem.space.names
    pp, batch = x[:, names.index("mapping.pp")], x[:, names.index("mapping.batch")]
    p = math.log(8.5) / math.log(80.0)
    assert abs(np.mean(pp <= 8) - p) < 4 * math.sqrt(p * (1 - p) / len(pp))
    assert np.mean(batch == 1) == pytest.approx(math.log(1.5) / math.log(512.0), abs=0.01)
    assert len(np.unique(batch)) > 300 and set(np.unique(pp)) == set(range(1, 81))
    tp = x[:, names.index("mapping.tp")]
    assert set(np.unique(tp)) == {1.0, 2.0, 4.0, 8.0}


def test_random_search_evaluates_the_sweep_draws(problem):
    """Random search with seed s and budget 2 n is exactly the best of the n sweep draws of
    seed s in each of the two variants (point j of every variant is the same draw)."""
    n, seed = 512, 7
    res = optimize(problem, "random", 2 * n, seed, top=1)
    x = draws(problem, n, seed)
    best = math.inf
    for v in range(len(problem.space.variants)):
        _, obj, _, ok = exact_batch(problem, v, x)
        best = min(best, float(np.min(np.where(ok, obj, np.inf))))
    assert res.evals == 2 * n and res.best_objective == pytest.approx(best, rel=1e-6)  # two compilations
    best_x = np.array([res.best["variables"][n] for n in problem.space.names])
    assert np.any(np.all(np.isclose(x, best_x, rtol=1e-6), axis=1))  # one of the sweep's draws
