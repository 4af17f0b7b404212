"""Fit, minimum chip count and the capacity invariants."""
import math

import jax.numpy as jnp
import numpy as np
import pytest

import codesign as cd
from codesign.model.memory import memory_use
from conftest import groq_design


def test_min_chips_llama2_70b_int8_on_groq(groq, llama70b):
    params = 68_976_648_192
    sram = 220 * 2**20  # 230,686,720 B
    expected = math.ceil(params * 1 / sram)  # 299.006 -> 300
    assert expected == 300
    # Published 299 is floor(299.006); 305 is ceil(70e9 / 230e6) with round numbers.
    assert math.ceil(70e9 / 230e6) == 305
    r = cd.evaluate_jit(*groq_design(groq, llama70b))
    assert float(r.min_chips_weights) == expected
    # Counting the KV cache reserved at the average occupancy (batch 1, 2048 + 256 / 2 tokens,
    # 327,680 B per fp16 token) and the working set of one decode token at tp 8:
    # (4 d + 2 ffn / 8) x 2 B. The prefill chunk does not count: on a dataflow chip the
    # compiler shrinks it to the SRAM left over (512 tokens would need 368 chips).
    kv = (2048 + 256 / 2) * 327_680
    act = 1 * (4 * 8192 + 2 * 28672 / 8) * 2
    with_kv = math.ceil((params + kv) / (sram - act))  # 302.2 -> 303
    assert float(r.min_chips) == with_kv == 303
    assert math.ceil((params + kv) / (sram - 512 * act)) == 368


def test_per_chip_bytes_by_hand(groq, llama70b):
    chip, system, w, m, sc = groq_design(groq, llama70b, tp=8.0, pp=40.0, batch=4.0, prompt=1000.0, output=24.0)
    mem = memory_use(cd.EXACT, chip, w, m, sc)
    params = 68_976_648_192
    assert float(mem.weight_bytes) == pytest.approx(params / 320, rel=1e-6)  # int8, 320 chips, even split
    # KV: 4 seqs x (1000 + 24 / 2) tokens (average occupancy) x (80/40 layers x 2 x 8 heads
    # x 128 x 2 B) / 8 TP shards
    assert float(mem.kv_bytes) == pytest.approx(4 * 1012 * 2 * 2 * 8 * 128 * 2 / 8, rel=1e-6)
    # Activations: a 512-token prefill chunk x (4 d + 2 ffn / tp) x 2 B = 40.9 MB would not fit
    # in the 15 MB left, so the compiler's chunk is what fits (~137 tokens): the SRAM is full.
    per_token = (4 * 8192 + 2 * 28672 / 8) * 2
    left = 220 * 2**20 - params / 320 - 4 * 1012 * 2 * 2 * 8 * 128 * 2 / 8
    assert left < 512 * per_token
    assert float(mem.act_bytes) == pytest.approx(left, rel=1e-4)
    assert float(mem.fits) == 1.0


def test_overflow_is_reported_not_raised(groq, llama70b):
    r = cd.evaluate_jit(*groq_design(groq, llama70b, tp=8.0, pp=10.0))  # 80 chips for 69 GB: no
    assert float(r.fits) == 0.0
    assert float(r.memory_overflow_bytes) == pytest.approx(
        float(r.memory_per_chip_bytes) - 220 * 2**20, rel=1e-5)
    assert float(r.memory_overflow_bytes) > 0


def test_more_chips_never_reduce_capacity(groq, llama70b):
    pps = jnp.arange(40.0, 81.0)
    chip, system, w, _, sc = groq_design(groq, llama70b)
    m = cd.Mapping(tp=jnp.full_like(pps, 8.0), pp=pps, ep=jnp.ones_like(pps), dp=jnp.ones_like(pps),
                   batch=jnp.ones_like(pps))
    mem = memory_use(cd.EXACT, chip, w, m, sc)
    assert np.all(np.diff(np.asarray(mem.max_batch)) >= 0)
    assert np.all(np.diff(np.asarray(mem.total_bytes)) <= 0)
    # More TP inside a node: same.
    tps = jnp.array([1.0, 2.0, 4.0, 8.0])
    m = cd.Mapping(tp=tps, pp=jnp.full_like(tps, 80.0), ep=jnp.ones_like(tps), dp=jnp.ones_like(tps),
                   batch=jnp.ones_like(tps))
    mem = memory_use(cd.EXACT, chip, w, m, sc)
    assert np.all(np.diff(np.asarray(mem.max_batch)) >= 0)


def test_max_batch_fits_and_one_more_does_not(groq, llama70b):
    design = groq_design(groq, llama70b, pp=72.0)
    r = cd.evaluate_jit(*design)
    b = float(r.max_batch)
    assert b > 1
    chip, system, w, m, sc = design
    at = cd.evaluate_jit(chip, system, w, cd.Mapping(8.0, 72.0, 1.0, 1.0, b), sc)
    over = cd.evaluate_jit(chip, system, w, cd.Mapping(8.0, 72.0, 1.0, 1.0, b + 1), sc)
    assert float(at.fits) == 1.0 and float(over.fits) == 0.0
