"""Hyper-parameters are traced: ``jax.vmap`` over CMA-ES's initial step size and over the
gradient searcher's learning rate runs, and every lane equals a separate run with the same
seed, on an analytic problem and on a small LPU co-design problem.

"Equal" is up to rounding: the batched program is a different XLA program (its products and
fusions may round differently in the last bit) and CMA-ES and Adam carry those bits forward,
so the analytic checks run in float64 (lanes equal separate runs to 1e-6 after 40 generations) and the float32
co-design checks compare to 1e-4."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

from codesign.config import load_problem
from codesign.search.cmaes import CMAESHyper, algorithm, fitness_fn
from codesign.search import descent
from codesign.search.algorithm import evolve
from codesign.space.codec import make_codec
from codesign.search.gradient import GradientHyper
from codesign.search.relaxed import lagrangian_value_and_grad
from conftest import LPU_PROBLEM
from search_problems import mixed_quadratic

LPU = LPU_PROBLEM


@pytest.fixture(scope="module")
def lpu():
    return load_problem(yaml.safe_load(LPU))


def lanes_equal_separate_runs(run, hyper, field, values, key, rtol=1e-4, atol=1e-4):
    """vmap ``run(hyper, key)`` over ``hyper.field`` and compare with one call per value."""
    batched = jax.jit(jax.vmap(lambda v: run(dataclasses.replace(hyper, **{field: v}), key)))(jnp.asarray(values))
    single = jax.jit(run)
    for i, v in enumerate(values):
        one = single(dataclasses.replace(hyper, **{field: jnp.float32(v)}), key)
        for a, b in zip(jax.tree.leaves(batched), jax.tree.leaves(one)):
            if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
                a, b = jax.random.key_data(a), jax.random.key_data(b)
            np.testing.assert_allclose(np.asarray(a)[i], np.asarray(b), rtol=rtol, atol=atol)
    return batched


def sphere(x):
    return jnp.sum((jnp.clip(x, 0.0, 1.0) - jnp.array([0.3, 0.7, 0.5])) ** 2, axis=-1)


def test_cmaes_vmaps_over_sigma_analytic():
    with jax.enable_x64(True):  # float64: rounding differences stay below 1e-6
        state, fits = lanes_equal_separate_runs(evolve(algorithm(3, 8), sphere, 40), CMAESHyper(), "sigma0",
                                                [0.05, 0.2, 0.5], jax.random.key(3), rtol=1e-6, atol=1e-9)
    assert fits.shape == (3, 40, 8) and not np.allclose(fits[0], fits[2])  # the lanes differ
    _, fits = jax.vmap(lambda v: evolve(algorithm(3, 8), sphere, 60)(CMAESHyper(sigma0=v), jax.random.key(3)))(
        jnp.array([0.05, 0.2, 0.5]))
    assert np.all(np.asarray(fits.min(axis=(1, 2))) < 1e-4)  # every lane converges to the centre


def test_cmaes_vmaps_over_sigma_on_the_lpu_problem(lpu):
    codec = make_codec(lpu.space)
    evaluate = fitness_fn(lpu, 0, codec)
    _, fits = lanes_equal_separate_runs(evolve(algorithm(codec.dim, 8), lambda z: evaluate(z)[2], 6),
                                        CMAESHyper(), "sigma0", [0.1, 0.4], jax.random.key(0))
    assert np.isfinite(np.asarray(fits)).all() and not np.allclose(fits[0], fits[1])


def descent_run(problem, starts, steps):
    codec = make_codec(problem.space)
    metrics = problem.objective.metrics
    n_g = len(problem.constraints.names) + len(metrics)
    algo = descent.algorithm(10, codec.dim, len(metrics), n_g, starts)
    return evolve(algo, lagrangian_value_and_grad(problem, 0, codec, metrics), steps)


def test_gradient_descent_vmaps_over_the_learning_rate_analytic():
    problem, x_star, _ = mixed_quadratic()
    state, (val, j, g, grad) = lanes_equal_separate_runs(descent_run(problem, 4, 60), GradientHyper(), "lr",
                                                         [0.01, 0.05, 0.2], jax.random.key(1))
    assert val.shape == (3, 60, 4) and not np.allclose(state.z[0], state.z[2])
    # The largest step reaches the relaxed optimum: a = 1e7 (log), b = 7.3, c = 5.
    x = make_codec(problem.space).decode(np.asarray(state.z[2], float), np)
    np.testing.assert_allclose(np.median(x, axis=0), [1e7, 7.3, 5.0], rtol=0.05)


def test_gradient_descent_vmaps_over_the_learning_rate_on_the_lpu_problem(lpu):
    state, (val, *_) = lanes_equal_separate_runs(descent_run(lpu, 4, 20), GradientHyper(), "lr", [0.02, 0.1],
                                                 jax.random.key(0))
    assert np.isfinite(np.asarray(val)).all() and not np.allclose(state.z[0], state.z[1])
