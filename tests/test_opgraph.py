"""The layer op graph (codesign.workload.ops) and the execution model (codesign.model.timing):
hand-computed goldens for an LPU, a GPU and a MoE case, precision, invariants, bad input."""
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.config import load_hardware
from codesign.design.fields import check_spec
from codesign.errors import ConfigError
from codesign.model.smooth import EXACT
from codesign.model.timing import decode_time, layer_schedule, unit_map
from codesign.specs import Mapping, Scenario, Workload
from codesign.workload.ops import OP_NAMES, Op, matrix_dtype

US = 1e-6
LLAMA2_70B = dict(layers=80.0, d_model=8192.0, n_heads=64.0, n_kv_heads=8.0, head_dim=128.0,
                  ffn_dim=28672.0, vocab=32000.0, n_experts=0.0, experts_per_token=0.0)
LLAMA31_70B = dict(LLAMA2_70B, vocab=128256.0)
MIXTRAL = dict(layers=32.0, d_model=4096.0, n_heads=32.0, n_kv_heads=8.0, head_dim=128.0,
               ffn_dim=14336.0, vocab=32000.0, n_experts=8.0, experts_per_token=2.0)


def _mapping(tp, ep=1.0, batch=1.0):
    return Mapping(tp=tp, pp=1.0, ep=ep, dp=1.0, batch=batch)


def _ops(hw, w, m, tokens, context):
    sched, durations, _, _ = layer_schedule(EXACT, hw.chip, hw.system, w, m, tokens, tokens, context)
    return dict(zip(OP_NAMES, (float(d) for d in durations))), float(sched.makespan)


@pytest.fixture(scope="module")
def groq():
    return load_hardware("groq-lpu-v1")


@pytest.fixture(scope="module")
def h100():
    return load_hardware("h100-sxm")


def test_lpu_golden_int8_weights_compute_at_fp16(groq):
    """GroqChip 1, Llama-2-70B int8 weights / fp16 activations, tp 8, batch 1, context 1,280."""
    w = Workload(**LLAMA2_70B, weight_dtype="int8", kv_dtype="fp16", act_dtype="fp16")
    assert matrix_dtype("int8", "fp16") == "fp16"
    ops, makespan = _ops(groq, w, _mapping(8.0), 1.0, 1280.0)
    floor = 464 / 0.9e9  # pipeline latency of one op
    vec, load, sram, fp16 = 5120 * 0.9e9, 64 * 320 * 0.9e9, 80e12, 188e12
    # gate_up: 2 x 8192 x 28672 / 8 = 58,720,256 int8 weights per chip; dequantized on the VXM
    # (2 ops each) and installed into the MXM as fp16 (2 B each).
    n = 2 * 8192 * 28672 / 8
    parts = [2 * n / fp16, n / sram, 2 * n / load, 2 * n / vec]
    assert max(parts) == 2 * n / vec  # the vector unit's dequantization binds at batch 1
    assert ops["gate_up"] == pytest.approx(floor + 2 * n / vec, rel=1e-5)  # 26.00 us
    assert ops["gate_up"] == pytest.approx(26.0016 * US, rel=1e-4)
    # all-reduce of 8,192 fp16 activations over the 8 chips of a node (direct links: 2 steps
    # of 0.6 us, 2 x 7/8 x 16,384 B at 105 GB/s, no software handshake).
    assert ops["all_reduce_attn"] == pytest.approx(2 * 0.6e-6 + 2 * 7 / 8 * 16384 / 105e9, rel=1e-5)
    # softmax: 64/8 heads x 1,280 keys x 5 ops on the VXM, after its pipeline latency.
    assert ops["softmax"] == pytest.approx(floor + 5 * 8 * 1280 / vec, rel=1e-5)
    assert ops["router"] == ops["dispatch"] == ops["combine"] == 0.0  # dense: absent
    # One token is a chain: every op waits for the previous one, except the KV write, which
    # the memory unit does while the scores run (it is shorter).
    chain = sum(v for k, v in ops.items() if k != "kv_write")
    assert makespan == pytest.approx(chain, rel=1e-6)


def test_gpu_golden_kernels_in_sequence(h100):
    """H100, Llama-3.1-70B bf16, tp 4, batch 8: one kernel after another."""
    w = Workload(**LLAMA31_70B, weight_dtype="bf16", kv_dtype="bf16", act_dtype="bf16")
    ops, makespan = _ops(h100, w, _mapping(4.0, batch=8.0), 8.0, 375.0)
    # qkv: 8192 x (8192 + 2 x 1024) / 4 = 20,971,520 bf16 weights per GPU read from HBM
    # (41.9 MB at 3.35 TB/s = 12.52 us) + the 2 us kernel floor; the 8-row GEMM padded to the
    # 64-row wgmma tile costs 2 x 64 x 20.97 M / 989 TFLOP/s = 2.71 us < the memory time.
    n = 8192 * (8192 + 2048) / 4
    assert ops["qkv"] == pytest.approx(2e-6 + 2 * n / 3.35e12, rel=1e-5)
    # all-reduce of 8 x 8,192 bf16 over 4 GPUs on NVSwitch: 4 us software + 2 log2(4) = 4
    # steps of 1 us + 2 x 3/4 x 131,072 B at 450 GB/s.
    assert ops["all_reduce_ffn"] == pytest.approx(4e-6 + 4e-6 + 1.5 * 131072 / 450e9, rel=1e-5)
    # softmax is fused into the flash-attention kernel: no floor, only its vector work
    # (5 ops x 8 tokens x 64/4 heads x 375 keys on 132 SM x 128 lanes x 1.98 GHz).
    assert ops["softmax"] == pytest.approx(5 * 8 * 16 * 375 / (132 * 128 * 1.98e9), rel=1e-4)
    # The flash-attention kernel (scores + softmax + values) pays one floor, not three.
    kv = 8 * 375 * 2 * 8 * 128 * 2 / 4  # K and V of 8 sequences x 375 tokens, 2 of 8 KV heads
    assert ops["scores"] + ops["values"] == pytest.approx(2e-6 + kv / 3.35e12, rel=1e-3)
    assert makespan == pytest.approx(sum(ops.values()), rel=1e-6)  # one unit: the sum


def test_moe_golden_router_and_all_to_all(h100):
    """H100, Mixtral-8x7B bf16, tp 2 = ep 2, batch 1: router, dispatch, two experts, combine."""
    w = Workload(**MIXTRAL, weight_dtype="bf16", kv_dtype="bf16", act_dtype="bf16")
    ops, _ = _ops(h100, w, _mapping(2.0, ep=2.0), 1.0, 1024.0)
    # dispatch: 1 token x 4096 x 2 B x top-2 = 16,384 B, all-to-all over 2 GPUs: 4 us software
    # + one 1 us step + (2 - 1)/2 x 16,384 B at 450 GB/s.
    assert ops["dispatch"] == pytest.approx(4e-6 + 1e-6 + 0.5 * 16384 / 450e9, rel=1e-5)
    assert ops["combine"] == pytest.approx(ops["dispatch"], rel=1e-6)
    # router: 4096 x 8 bf16 weights / 2 GPUs from HBM + floor.
    assert ops["router"] == pytest.approx(2e-6 + 4096 * 8 * 2 / 2 / 3.35e12, rel=1e-4)
    # one token touches its 2 experts: gate/up = 2 of 3 matrices of 2 x (3 x 4096 x 14336)
    # bf16 weights, split over 2 GPUs.
    assert ops["gate_up"] == pytest.approx(2e-6 + 2 * 2 * 4096 * 14336 * 2 / 2 / 3.35e12, rel=1e-4)
    assert ops["all_reduce_ffn"] == 0.0  # tp / ep = 1 chip: nothing to reduce


def test_unknown_unit_and_execution_are_config_errors(groq):
    with pytest.raises(ConfigError, match="'tensor'.*allowed: matrix, vector, memory, network"):
        unit_map(groq.chip, (Op("x", "tensor"),))
    with pytest.raises(ConfigError, match="chip.execution = 'gpu'; allowed: kernels, dataflow"):
        unit_map(dataclasses.replace(groq.chip, execution="gpu"))


def test_negative_rate_is_a_config_error_naming_the_field(groq):
    bad = dataclasses.replace(groq.chip, vector_ops_per_s=-1.0)
    with pytest.raises(ConfigError, match=r"chip.vector_ops_per_s = -1.0; allowed: a finite number > 0"):
        check_spec(bad, "chip")


_SCALE = st.floats(1.0, 8.0)


@pytest.fixture(scope="module")
def faster_decode(groq):
    w = Workload(**LLAMA2_70B, weight_dtype="int8", kv_dtype="fp16", act_dtype="fp16")
    m, sc = Mapping(tp=8.0, pp=72.0, ep=1.0, dp=1.0, batch=4.0), Scenario(1024.0, 512.0, 512.0)

    @jax.jit
    def f(s):
        c = groq.chip
        chip = dataclasses.replace(c, vector_ops_per_s=c.vector_ops_per_s * s[0],
                                   matrix_load_bytes_per_s=c.matrix_load_bytes_per_s * s[1],
                                   link_bw_bytes_per_s=c.link_bw_bytes_per_s * s[2],
                                   op_floor_s=c.op_floor_s / s[3], link_latency_s=c.link_latency_s / s[4])
        return decode_time(EXACT, chip, groq.system, w, m, sc)[0]
    return f


@settings(max_examples=15, deadline=None)
@given(st.lists(_SCALE, min_size=5, max_size=5))
def test_faster_units_and_links_never_slow_a_design(faster_decode, s):
    base = float(faster_decode(jnp.ones(5)))
    assert float(faster_decode(jnp.asarray(s))) <= base * (1 + 1e-6)


def test_op_graph_is_topological():
    from codesign.workload.ops import LAYER_OPS
    assert all(all(j < i for j in op.deps) for i, op in enumerate(LAYER_OPS))
    assert len(set(OP_NAMES)) == len(OP_NAMES)


@pytest.mark.parametrize("hardware", ["groq-lpu-v1"])
def test_timing_gradients_finite_on_random_designs(hardware):
    """Random designs around a preset (500 here; CODESIGN_GRAD_DESIGNS=100000 for the 1e5
    check, ~70 s): every chip and system field scaled by 10^U(-3, 3) or set
    to its range's lower bound (0 where allowed), relaxed tp, pp, ep, dp, batch including the
    ends; the smooth time per token has finite gradients w.r.t. every field (TTFT and the
    GPU preset: the 1e5 run of CODESIGN_GRAD_DESIGNS, and tests/test_smooth_ranges.py)."""
    from codesign.design.fields import field_range
    from codesign.model.smooth import SMOOTH
    from codesign.specs import numeric_fields
    hw, n = load_hardware(hardware), int(os.environ.get("CODESIGN_GRAD_DESIGNS", "500"))
    rng = np.random.default_rng(0)
    w = Workload(**MIXTRAL, weight_dtype="int8", kv_dtype="fp16", act_dtype="fp16")
    keep = ("sram_bytes", "sram_bw_bytes_per_s", "hbm_bytes", "hbm_bw_bytes_per_s", "fp16_flops_per_s", "clock_hz")

    def vary(spec):
        out = {}
        for k in numeric_fields(spec):
            v, r = float(getattr(spec, k)), field_range(spec, k)
            x = v * 10.0 ** rng.uniform(-3, 3, n)
            edge = rng.random(n) < 0.1
            lo = r.lo if (r.lo > 0 or not r.lo_open) and k not in keep else 1e-3 * v
            x = np.where(edge, lo if v > 0 else v, x)
            out[k] = np.clip(x, max(lo, 1e-30) if k in keep or r.lo_open else lo, r.hi).astype(np.float32)
        return dataclasses.replace(spec, **out)

    chip, system = vary(hw.chip), vary(hw.system)
    ends = lambda lo, hi: np.where(rng.random(n) < 0.2, rng.choice([lo, hi], n), rng.uniform(lo, hi, n)).astype(np.float32)
    m = Mapping(tp=ends(1, 32), pp=ends(1, 32), ep=ends(1, 8), dp=ends(1, 8), batch=ends(1, 1024))
    sc = Scenario(1024.0, 256.0, 512.0)

    def t(c, s, mm):
        return decode_time(SMOOTH, c, s, w, mm, sc)[0]

    grads = jax.jit(jax.vmap(jax.grad(t, argnums=(0, 1, 2))))(chip, system, m)
    for leaf in jax.tree.leaves(grads):
        assert np.all(np.isfinite(np.asarray(leaf)))
