"""Compiled evaluation: no retracing for new numbers, vmap equals a loop, depth-independent."""
import jax
import jax.numpy as jnp
import pytest

import codesign as cd
from codesign.specs import replace
from conftest import groq_design


def test_no_retrace_on_repeated_calls_with_new_numbers(groq, llama70b):
    traces = []

    @jax.jit
    def f(chip, system, w, m, sc):
        traces.append(1)
        return cd.evaluate(chip, system, w, m, sc).usd_per_million_tokens

    chip, system, w, m, sc = groq_design(groq, llama70b)
    for k in range(5):
        f(replace(chip, sram_bytes=chip.sram_bytes * (1 + k)), system, w,
          replace(m, batch=float(k + 1)), sc)
    assert len(traces) == 1
    before = cd.evaluate_jit._cache_size()
    cd.evaluate_jit(*groq_design(groq, llama70b, batch=3.0))
    cd.evaluate_jit(*groq_design(groq, llama70b, batch=5.0))
    assert cd.evaluate_jit._cache_size() - before <= 1


def test_vmap_matches_loop(groq, llama70b):
    chip, system, w, _, sc = groq_design(groq, llama70b)
    pps = jnp.array([40.0, 48.0, 64.0, 72.0, 80.0])
    batches = jnp.array([1.0, 2.0, 7.0, 30.0, 50.0])
    ms = cd.Mapping(tp=jnp.full(5, 8.0), pp=pps, ep=jnp.ones(5), dp=jnp.ones(5), batch=batches)
    batched = jax.jit(jax.vmap(lambda m: cd.evaluate(chip, system, w, m, sc)))(ms)
    for i in range(5):
        one = cd.evaluate_jit(chip, system, w, cd.Mapping(8.0, float(pps[i]), 1.0, 1.0, float(batches[i])), sc)
        for k in ("decode_s_per_token", "usd_per_million_tokens", "memory_per_chip_bytes"):
            assert float(getattr(batched, k)[i]) == pytest.approx(float(getattr(one, k)), rel=1e-5)


def test_cost_of_evaluation_does_not_grow_with_layers(groq, llama70b):
    """Same compiled program for 8 or 800 layers: depth is a number, not a loop."""
    chip, system, w, m, sc = groq_design(groq, llama70b)
    lowered = [jax.jit(cd.evaluate).lower(chip, system, replace(w, layers=float(L)), m, sc).as_text()
               for L in (8, 800)]
    assert lowered[0] == lowered[1]
