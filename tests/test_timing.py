"""Decode time, golden case by hand; roofline invariants; smooth vs exact."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import codesign as cd
from codesign.specs import replace
from conftest import groq_design


def test_decode_time_by_hand_groq_llama2_70b(groq, llama70b):
    """576 Groq chips (tp 8 x pp 72), int8 weights, fp16 KV, batch 1, 2048 + 256 tokens."""
    op = 464 / 0.9e9  # op pipeline latency
    bw, i8, f16 = 80e12, 750e12, 188e12
    d, tp = 8192, 8
    proj_params = d * (d + 2 * 8 * 128) + d * d
    proj = max(2 * proj_params / tp / i8, proj_params / tp / bw)
    ctx = 2048 + 256 / 2
    attn = max(4 * ctx * d / tp / f16, ctx * 2 * 8 * 128 * 2 / 8 / bw)
    ffn_params = 3 * d * 28672
    ffn = max(2 * ffn_params / tp / i8, ffn_params / tp / bw)
    act = d * 2  # one token's fp16 activation vector
    all_reduce = 2 * 0.6e-6 + 2 * 7 / 8 * act / 105e9  # one-shot inside the all-to-all node
    layer = proj + attn + ffn + 20 * op + 2 * all_reduce
    head = max(2 * 32000 * d / tp / i8, 32000 * d / tp / bw) + op
    hop = 0.6e-6 + act / 50e9  # every stage is a node: all hops cross nodes
    expected = 80 * layer + 71 * hop + head
    r = cd.evaluate_jit(*groq_design(groq, llama70b))
    assert float(r.decode_s_per_token) == pytest.approx(expected, rel=1e-5)
    # Published ~240-300 tokens/s per user: the uncalibrated model must be in the hundreds.
    assert 100 < float(r.decode_tokens_per_s_per_user) < 1000


def test_pipelining_keeps_latency_and_multiplies_throughput(groq, llama70b):
    one = cd.evaluate_jit(*groq_design(groq, llama70b, batch=1.0))
    full = cd.evaluate_jit(*groq_design(groq, llama70b, batch=36.0))
    # 36 single-sequence micro-batches in flight on 72 stages: per-user speed barely moves.
    assert float(full.decode_s_per_token) == pytest.approx(float(one.decode_s_per_token), rel=0.05)
    ratio = float(full.throughput_tokens_per_s) / float(one.throughput_tokens_per_s)
    assert 25 < ratio <= 36


FIELDS_FASTER = ("int8_flops_per_s", "fp16_flops_per_s", "sram_bw_bytes_per_s", "link_bw_bytes_per_s",
                 "compute_efficiency", "memory_efficiency", "clock_hz")


def test_more_bandwidth_or_compute_never_slows(groq, llama70b):
    """Each field of FIELDS_FASTER scaled over 0.25x..8x (one batch, one compilation)."""
    chip, system, w, m, sc = groq_design(groq, llama70b, batch=8.0)
    chip = replace(chip, power_cap_w=1e9)  # timing at a fixed clock; the cap's invariants: test_power.py
    factors = np.geomspace(0.25, 8.0, 12)
    n = len(FIELDS_FASTER) * len(factors)
    scale = {f: np.ones(n) for f in FIELDS_FASTER}
    for i, f in enumerate(FIELDS_FASTER):
        scale[f][i * len(factors):(i + 1) * len(factors)] = factors
    chips = replace(jax.tree.map(lambda x: jnp.full(n, x), chip),
                    **{f: getattr(chip, f) * jnp.asarray(v) for f, v in scale.items()})

    def metrics(c):
        r = cd.evaluate(c, system, w, m, sc)
        return r.decode_s_per_token, r.ttft_s, r.throughput_tokens_per_s

    dec, ttft, thr = (np.asarray(a).reshape(len(FIELDS_FASTER), len(factors)) for a in jax.jit(jax.vmap(metrics))(chips))
    assert np.all(np.diff(dec, axis=1) <= 1e-12)
    assert np.all(np.diff(ttft, axis=1) <= 1e-12)
    assert np.all(np.diff(thr, axis=1) >= -1e-6)
    # Every field but int8 peak binds somewhere at batch 8 (int8 matmuls stay memory-bound).
    moved = {f for f, row in zip(FIELDS_FASTER, dec) if row[0] > row[-1] * (1 + 1e-6)}
    assert moved == set(FIELDS_FASTER) - {"int8_flops_per_s"}


def test_smooth_converges_to_exact(groq, llama70b):
    design = groq_design(groq, llama70b, tp=8.0, pp=40.0, batch=20.0)
    exact = cd.evaluate_jit(*design)
    keys = ("decode_s_per_token", "ttft_s", "throughput_tokens_per_s", "joules_per_token", "tco_usd",
            "usd_per_million_tokens")
    errs = []
    for p in (4.0, 32.0, 256.0):
        smooth = cd.evaluate_jit(*design, fidelity=cd.Fidelity(smooth=True, sharpness=p))
        errs.append(max(abs(float(getattr(smooth, k)) / float(getattr(exact, k)) - 1) for k in keys))
    assert all(b <= a for a, b in zip(errs, errs[1:]))
    assert errs[0] > 1e-3  # the smoothing does something
    assert errs[-1] < 5e-3


def test_clock_scales_peaks_on_chip_bandwidth_and_energy(groq, llama70b):
    """2x clock: 2x peak FLOP/s and SRAM bandwidth, 4x dynamic energy per op (V ~ f)."""
    chip = groq.chip
    fast = replace(chip, clock_hz=chip.clock_hz * 2)
    assert float(fast.flops_per_s("int8")) == pytest.approx(2 * 750e12)
    assert float(fast.memory_bw_bytes_per_s) == pytest.approx(2 * 80e12)
    assert float(fast.memory_pj_per_byte) == pytest.approx(4 * float(chip.sram_pj_per_byte))
    design = groq_design(groq, llama70b, batch=36.0)
    # SerDes energy does not scale with the core clock; no power cap (it would hold the fast
    # clock down) and no active baseline (it scales as f^3, not as the per-op energy).
    no_links = dict(link_pj_per_byte=0.0, power_cap_w=1e9, active_baseline_w=0.0)
    slow_r = cd.evaluate_jit(replace(chip, **no_links), *design[1:])
    fast_r = cd.evaluate_jit(replace(fast, **no_links), *design[1:])
    assert float(fast_r.decode_compute_s) == pytest.approx(0.5 * float(slow_r.decode_compute_s), rel=1e-5)
    assert float(fast_r.decode_floor_s) == pytest.approx(0.5 * float(slow_r.decode_floor_s), rel=1e-5)
    dyn = lambda r: float(r.joules_per_token) - float(r.idle_power_w) / float(r.throughput_tokens_per_s)
    assert dyn(fast_r) == pytest.approx(4 * dyn(slow_r), rel=1e-3)
