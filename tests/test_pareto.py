"""Pareto filter and hypervolume against brute force; the front search on a problem whose
front is known by enumeration."""

import numpy as np
import pytest

from codesign.search.pareto import front, hypervolume, nondominated, simplex_weights
from codesign.search.gradient import GradientHyper
from search_problems import integer_tradeoff


def brute_nondominated(f):
    n = len(f)
    keep = np.ones(n, bool)
    for i in range(n):
        for j in range(n):
            if i != j and np.all(f[j] <= f[i]) and np.any(f[j] < f[i]):
                keep[i] = False
                break
    return keep


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nondominated_matches_brute_force(k, seed):
    rng = np.random.default_rng(seed)
    f = rng.integers(0, 6, size=(120, k)).astype(float)  # many ties and duplicates
    f[::7] = f[3]  # exact duplicates of one row
    np.testing.assert_array_equal(nondominated(f), brute_nondominated(f))
    g = rng.normal(size=(200, k))
    np.testing.assert_array_equal(nondominated(g), brute_nondominated(g))


def test_nondominated_edge_cases():
    assert nondominated(np.zeros((0, 2))).shape == (0,)
    f = np.array([[1.0, 2.0], [np.nan, 0.0], [2.0, 1.0], [np.inf, -1.0]])
    np.testing.assert_array_equal(nondominated(f), [True, False, True, False])  # non-finite rows never kept


def test_hypervolume_2d_by_hand_and_3d_against_sampling():
    f = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [2.5, 2.5]])  # the last one is dominated
    # Staircase w.r.t. (4, 4): 1x3 + 1x2 + 1x1 = 6.
    assert hypervolume(f, [4.0, 4.0]) == pytest.approx(6.0)
    assert hypervolume(f[:3], [4.0, 4.0]) == pytest.approx(6.0)
    assert hypervolume(f, [0.5, 0.5]) == 0.0  # nothing dominates the reference
    assert hypervolume(np.array([[1.0]]), [3.0]) == pytest.approx(2.0)
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, size=(12, 3))
    ref = np.ones(3)
    samples = rng.uniform(0, 1, size=(400_000, 3))
    dominated = np.zeros(len(samples), bool)
    for row in p:
        dominated |= np.all(samples >= row, axis=1)
    assert hypervolume(p, ref) == pytest.approx(dominated.mean(), abs=4e-3)
    boxes = np.array([[0.0, 0.0, 0.5], [0.5, 0.5, 0.0]])  # volumes 0.5 and 0.25, overlap 0.125
    assert hypervolume(boxes, ref) == pytest.approx(0.625)


def test_simplex_weights_start_with_the_anchors():
    w = simplex_weights(3, 10)
    assert w.shape == (10, 3)
    np.testing.assert_allclose(w[:3], np.eye(3))
    np.testing.assert_allclose(w.sum(1), 1.0)
    assert len({tuple(r) for r in w}) == 10


def test_front_search_matches_the_enumerated_front():
    problem = integer_tradeoff()
    a, b = np.meshgrid(np.arange(1, 13.0), np.arange(1, 13.0), indexing="ij")
    cost, speed = (a + b).ravel(), (a ** 0.7 * b ** 0.3).ravel()
    f_all = np.stack([np.log(cost), -np.log(speed)], 1)
    true = f_all[brute_nondominated(f_all)]
    fr = front(problem, points=8, budget=6000, seed=0, hyper=GradientHyper(starts=2))
    assert fr.evals <= 6000
    f = np.stack([np.log(fr.values[:, 0]), -np.log(fr.values[:, 1])], 1)
    # Most reported designs are on the true front (the rest within 5% of it), and together
    # they cover nearly all of it.
    on = [np.any(np.all(np.isclose(true, row, atol=1e-5), axis=1)) for row in f]
    assert np.mean(on) >= 0.8
    for row in f:  # additive ε-indicator in log space: no reported design is worse than 5%
        assert np.min(np.max(row - true, axis=1)) <= 0.05
    ref = f_all.max(0) + 0.1
    assert hypervolume(f, ref) >= 0.97 * hypervolume(true, ref)
    assert fr.overall.all()  # one variant: its front is the joint front
