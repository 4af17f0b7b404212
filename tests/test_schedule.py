"""The list scheduler (codesign.model.schedule) against a plain-Python list scheduler on random
DAGs, hand goldens, smooth-mode bounds and float64 gradients."""
import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from codesign.model.schedule import list_schedule
from codesign.model.smooth import EXACT, Fidelity


def reference_schedule(durations, deps, units, n_units):
    """Plain-Python list scheduler: ops in index order, start = max(deps' finish, unit free)."""
    free = [0.0] * n_units
    finish = []
    for d, ds, u in zip(durations, deps, units):
        s = max([finish[j] for j in ds] + [free[u]])
        finish.append(s + d)
        free[u] = s + d
    return max(finish), [sum(d for d, uu in zip(durations, units) if uu == u) for u in range(n_units)]


def random_graph(rng, n, n_units):
    deps = tuple(tuple(sorted(rng.sample(range(i), rng.randint(0, min(i, 3))))) for i in range(n))
    units = tuple(rng.randrange(n_units) for _ in range(n))
    durations = [rng.choice([0.0, rng.uniform(0.1, 5.0)]) for _ in range(n)]
    return durations, deps, units


def test_hand_golden_two_units():
    # a(unit 0, 2) -> b(unit 1, 3); c(unit 0, 4) independent; d(unit 1, 1) after a and c.
    # a: 0-2; b: 2-5; c: 2-6 (unit 0 busy until 2); d: max(2, 6, unit 1 free at 5) = 6 -> 7.
    s = list_schedule(EXACT, [2.0, 3.0, 4.0, 1.0], ((), (0,), (), (0, 2)), (0, 1, 0, 1), 2, critical=True)
    assert [float(x) for x in s.start] == [0.0, 2.0, 2.0, 6.0]
    assert float(s.makespan) == 7.0
    assert [float(b) for b in s.busy] == [6.0, 4.0]
    # Critical path: d <- c <- a (a releases c through unit 0); b finishes at 5 < 6: off it.
    assert [float(c) for c in s.critical] == [1.0, 0.0, 1.0, 1.0]


def test_one_unit_is_the_sum():
    s = list_schedule(EXACT, [1.0, 2.0, 3.0], ((), (), (0,)), (0, 0, 0), 1)
    assert float(s.makespan) == 6.0


def test_matches_plain_python_on_random_graphs():
    rng = random.Random(0)
    for trial in range(60):
        n, n_units = rng.randint(1, 20), rng.randint(1, 4)
        durations, deps, units = random_graph(rng, n, n_units)
        want, busy = reference_schedule(durations, deps, units, n_units)
        got = list_schedule(EXACT, [jnp.asarray(d) for d in durations], deps, units, n_units)
        assert float(got.makespan) == pytest.approx(want, rel=1e-6, abs=1e-9), trial
        assert [float(b) for b in got.busy] == pytest.approx(busy, rel=1e-6, abs=1e-9)


def test_smooth_bounds_and_converges():
    rng = random.Random(1)
    durations, deps, units = random_graph(rng, 15, 3)
    durations = [d + 0.5 for d in durations]
    exact = float(list_schedule(EXACT, durations, deps, units, 3).makespan)
    loose = float(list_schedule(Fidelity(smooth=True, sharpness=8.0), durations, deps, units, 3).makespan)
    sharp = float(list_schedule(Fidelity(smooth=True, sharpness=256.0), durations, deps, units, 3).makespan)
    assert loose >= exact * (1 - 1e-6) and sharp >= exact * (1 - 1e-6)
    assert abs(sharp - exact) < abs(loose - exact) and sharp == pytest.approx(exact, rel=0.05)


def test_bad_dependency_is_refused():
    with pytest.raises(ValueError, match="earlier ops"):
        list_schedule(EXACT, [1.0, 1.0], ((), (1,)), (0, 0), 1)


def test_float64_gradient_matches_finite_differences():
    with jax.enable_x64(True):
        rng = random.Random(2)
        _, deps, units = random_graph(rng, 8, 2)
        fid = Fidelity(smooth=True)

        def f(d):
            return list_schedule(fid, [d[i] for i in range(8)], deps, units, 2).makespan

        d0 = jnp.asarray(np.random.default_rng(0).uniform(0.5, 2.0, 8), dtype=jnp.float64)
        g = jax.jit(jax.grad(f))(d0)
        h, eye = 1e-6, jnp.eye(8, dtype=jnp.float64)
        fv = jax.jit(jax.vmap(f))
        fd = (fv(d0 + h * eye) - fv(d0 - h * eye)) / (2 * h)
        np.testing.assert_allclose(np.asarray(g), fd, rtol=1e-5, atol=1e-8)
        assert np.all(np.asarray(g) >= -1e-12)  # a longer op never shortens the schedule
