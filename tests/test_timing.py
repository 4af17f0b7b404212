"""Decode time, golden case by hand; roofline invariants; smooth vs exact."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import codesign as cd
from codesign.specs import replace
from conftest import groq_design


def test_decode_time_by_hand_groq_llama2_70b(groq, llama70b):
    """576 Groq chips (tp 8 x pp 72), int8 weights computed at fp16 (the activations' format),
    fp16 KV, batch 1, 2048 + 256 tokens. A dataflow chip: every op pays the 464-cycle pipeline
    latency; at one token the ops form a chain (the KV write overlaps the scores)."""
    op = 464 / 0.9e9  # pipeline latency of one op
    bw, f16, vec, load = 80e12, 188e12, 5120 * 0.9e9, 64 * 320 * 0.9e9
    d, ffn, tp = 8192, 28672, 8
    ctx = 2048 + 256 / 2

    def weights(n):  # a matrix-vector op on n int8 weights per chip
        # compute, SRAM read, fp16 install into the MXM, dequantization (2 ops per weight)
        parts = (2 * n / f16, n / bw, 2 * n / load, 2 * n / vec)
        assert max(parts) == parts[3]  # the VXM's dequantization binds
        return op + parts[3]

    k_bytes = ctx * 8 * 128 * 2 / 8  # one of the 8 KV heads per chip, fp16
    attention = op + max(2 * ctx * d / tp / f16, k_bytes / bw, k_bytes / load)  # scores (values alike)
    act = d * 2  # one token's fp16 activation vector
    all_reduce = 2 * 0.6e-6 + 2 * 7 / 8 * act / 105e9  # one-shot inside the all-to-all node
    layer = (2 * (op + 5 * d / vec)  # two add + RMSNorm
             + weights(d * (d + 2 * 8 * 128) / tp) + op + 3 * (64 + 8) * 128 / tp / vec  # QKV, rotary
             + 2 * attention + op + 5 * 64 / tp * ctx / vec  # scores, softmax, values
             + weights(d * d / tp) + all_reduce  # output projection
             + weights(2 * d * ffn / tp) + op + 4 * ffn / tp / vec + weights(d * ffn / tp)  # FFN
             + all_reduce)
    head = weights(32000 * d / tp)
    hop = 0.6e-6 + act / 50e9  # every stage is a node: all hops cross nodes
    expected = 80 * layer + 71 * hop + head  # no host time per step (static schedule)
    r = cd.evaluate_jit(*groq_design(groq, llama70b))
    assert float(r.decode_s_per_token) == pytest.approx(expected, rel=1e-5)
    # Published ~240-300 tokens/s per user: within 30% of 270 without calibration.
    assert abs(float(r.decode_tokens_per_s_per_user) / 270 - 1) < 0.3


def test_pipelining_keeps_latency_and_multiplies_throughput(groq, llama70b):
    one = cd.evaluate_jit(*groq_design(groq, llama70b, batch=1.0))
    full = cd.evaluate_jit(*groq_design(groq, llama70b, batch=36.0))
    # 36 single-sequence micro-batches in flight on 72 stages: per-user speed barely moves.
    assert float(full.decode_s_per_token) == pytest.approx(float(one.decode_s_per_token), rel=0.05)
    ratio = float(full.throughput_tokens_per_s) / float(one.throughput_tokens_per_s)
    assert 25 < ratio <= 36


FIELDS_FASTER = ("int8_flops_per_s", "fp16_flops_per_s", "sram_bw_bytes_per_s", "link_bw_bytes_per_s",
                 "compute_efficiency", "memory_efficiency", "clock_hz", "vector_ops_per_s",
                 "matrix_load_bytes_per_s")


def test_more_bandwidth_or_compute_never_slows(groq, llama70b):
    """Each field of FIELDS_FASTER scaled over 0.25x..8x (one batch, one compilation)."""
    chip, system, w, m, sc = groq_design(groq, llama70b, batch=8.0)
    chip = replace(chip, power_cap_w=1e9)  # timing alone: no power cap lowering the clock
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
    # At batch 8 (8 micro-batches of one token) the int8 weights compute at fp16 (int8 peak
    # never binds) and the MXM's intake and the VXM's dequantization bind before the SRAM
    # (80 TB/s) does; every other field binds somewhere over 0.25x..8x.
    moved = {f for f, row in zip(FIELDS_FASTER, dec) if row[0] > row[-1] * (1 + 1e-6)}
    assert moved == set(FIELDS_FASTER) - {"int8_flops_per_s", "sram_bw_bytes_per_s", "memory_efficiency"}


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
    chip = replace(groq.chip, power_cap_w=1e9)  # no power cap lowering the clock
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
