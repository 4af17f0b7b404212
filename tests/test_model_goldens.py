"""Golden values by hand beyond the LPU: an HBM GPU on a switch, 2-D and 3-D torus TPUs with a
ring across hosts, a MoE with expert-parallel all-to-all, ``pp_split: layer`` against ``op``,
and ``price_mode: build``. Every expected number is arithmetic on the preset values written
out below (the YAML entries they come from are named), never a copy of the model's output."""
import math

import pytest

import codesign as cd
from codesign.specs import replace

# Llama-2-70B (presets/models/llama-2-70b.yaml): d 8192, 64 heads, 8 KV heads of 128, FFN
# 28672 (SwiGLU: 3 matrices), vocab 32000, 80 layers.
D, FFN, VOCAB, L = 8192, 28672, 32000, 80
P_PROJ = D * (64 * 128 + 2 * 8 * 128) + 64 * 128 * D  # Q, K, V, O = 150,994,944
P_FFN = 3 * D * FFN  # 704,643,072
P_HEAD = VOCAB * D  # LM head, 262,144,000
P_LAYER = P_PROJ + P_FFN + 2 * D  # + two RMSNorm vectors
P_EMB = 2 * VOCAB * D + D  # embedding + LM head + final norm
P_TOTAL = L * P_LAYER + P_EMB
PROMPT, OUT = 2048, 256
CTX = PROMPT + OUT / 2  # average context of a decode step (and the KV reserved per sequence)

# h100-sxm.yaml: HBM 80e9 B (the engine uses 90% of it) at 3.35e12 B/s, fp8 1979e12 and fp16
# 989e12 FLOP/s, vector units 132 SM x 128 lanes x 1.98 GHz, tensor cores fed from SMEM at
# 33.45e12 B/s in 64-row tiles, 2 us per kernel, collectives 4 us of software + 2 log2(p)
# steps of 1 us through NVSwitch at 450e9 B/s; 8 GPUs per node, 50e9 B/s and 2 us between
# nodes; host 580 us + 10 us per sequence per step.
H100 = dict(bw=3.35e12, vec=132 * 128 * 1.98e9, load=33.45e12, tile=64, floor=2e-6, base=4e-6,
            lat=1e-6, link=450e9, host=5.8e-4, host_seq=1e-5)
# tpu-v5e.yaml: HBM 0.81e12 B/s, bf16 197e12, VPU 8 x 128 x 4 x 1.5 GHz, VMEM 17.8e12 B/s in
# 8-row tiles, 1 us per op and per collective.
V5E = dict(bw=0.81e12, vec=8 * 128 * 4 * 1.5e9, load=17.8e12, tile=8, floor=1e-6, base=1e-6)


def matmul(hw, flops, stored_bytes, stored_b, compute_b, rate, tokens, launches=1):
    """A matrix op on a kernel-launching chip: floor + max(compute padded to the tile rows,
    weight-tier bytes, bytes into the matrix unit, dequantization on the vector units)."""
    pad = math.ceil(tokens / hw["tile"]) * hw["tile"] / tokens
    elements = stored_bytes / stored_b
    dequant = 2 * elements if compute_b > stored_b else 0.0  # convert + scale per weight
    return launches * hw["floor"] + max(flops * pad / rate, stored_bytes / hw["bw"],
                                        elements * compute_b / hw["load"], dequant / hw["vec"])


def vector(hw, ops, launches=1):
    return launches * hw["floor"] + ops / hw["vec"]


def switch_all_reduce(n_bytes, p):
    return H100["base"] + 2 * math.log2(p) * H100["lat"] + 2 * (p - 1) / p * n_bytes / H100["link"]


def design(hw, model, wdt, kvdt, tp, pp, batch, ep=1.0, **chip_changes):
    hwp, md = cd.load_hardware(hw), cd.load_model(model)
    chip = replace(hwp.chip, **chip_changes) if chip_changes else hwp.chip
    return (chip, hwp.system, md.workload(wdt, kvdt, kvdt),
            cd.Mapping(tp=tp, pp=pp, ep=ep, dp=1.0, batch=batch), cd.Scenario(PROMPT, OUT))


def check(r, expected: dict):
    for k, v in expected.items():
        assert float(getattr(r, k)) == pytest.approx(v, rel=2e-5), k


P_QKV, P_OUT = D * (64 * 128 + 2 * 8 * 128), 64 * 128 * D


def h100_layer(tokens, seqs, tp=8):
    """Llama-2-70B layer on H100, fp8 weights computed at fp16 (the activations' format: the
    weights are dequantized), fp16 KV: (layer s, memory s, comm s, floor s). One kernel after
    another: the layer is the sum of its ops."""
    hw, t = H100, tokens
    kv = seqs * CTX * 2 * 8 * 128 * 2 / min(tp, 8)  # K and V read
    kv_new = t * 2 * 8 * 128 * 2 / min(tp, 8)
    ops = [
        vector(hw, 5 * t * D),  # add + RMSNorm
        matmul(hw, 2 * t * P_QKV / tp, P_QKV / tp, 1, 2, 989e12, t),
        vector(hw, 3 * t * (64 + 8) * 128 / tp),  # rotary
        hw["floor"] + kv_new / hw["bw"],  # KV-cache write
        matmul(hw, 2 * t * CTX * 64 * 128 / tp, kv / 2, 2, 2, 989e12, t),  # flash attention: scores,
        vector(hw, 5 * t * 64 / tp * CTX, launches=0),  # softmax and values in the same kernel
        matmul(hw, 2 * t * CTX * 64 * 128 / tp, kv / 2, 2, 2, 989e12, t, launches=0),
        matmul(hw, 2 * t * P_OUT / tp, P_OUT / tp, 1, 2, 989e12, t),
        vector(hw, 5 * t * D),
        matmul(hw, 2 * t * 2 * D * FFN / tp, 2 * D * FFN / tp, 1, 2, 989e12, t),  # gate + up
        vector(hw, 4 * t * FFN / tp),  # SiLU x up
        matmul(hw, 2 * t * D * FFN / tp, D * FFN / tp, 1, 2, 989e12, t),  # down
    ]
    comm = 2 * switch_all_reduce(t * D * 2, tp)  # attention and FFN outputs
    mem = (P_PROJ / tp + kv_new + kv + P_FFN / tp) / hw["bw"]
    return sum(ops) + comm, mem, comm, 10 * hw["floor"]  # 10 kernels launched (2 fused)


def h100_head(tokens, tp=8):
    return matmul(H100, 2 * tokens * P_HEAD / tp, P_HEAD / tp, 1, 2, 989e12, tokens)


def test_h100_switch_hbm_decode_by_hand():
    """8 x H100, tp 8, batch 1: weights in HBM, decode memory-bound, NVLS all-reduce."""
    r = cd.evaluate_jit(*design("h100-sxm", "llama-2-70b", "fp8", "fp16", 8.0, 1.0, 1.0))
    layer, mem, comm, floor = h100_layer(1, 1)
    check(r, {
        "weight_bytes_per_chip": P_TOTAL / 8,  # fp8: 1 byte per parameter, pp 1
        "kv_bytes_per_chip": CTX * 2 * L * 8 * 128 * 2 / 8,  # reserved at the average occupancy
        "memory_capacity_bytes": 0.9 * 80e9,  # the HBM tier less the engine's headroom
        "min_chips_weights": math.ceil(P_TOTAL / 72e9),  # 69 GB -> 1 GPU
        "decode_memory_s": L * mem,
        "decode_comm_s": L * comm,
        "decode_floor_s": L * floor,
        "decode_host_s": H100["host"] + 1 * H100["host_seq"],
        "decode_s_per_token": L * layer + h100_head(1) + H100["host"] + H100["host_seq"],
    })
    assert float(r.fits) == 1.0
    # batch 1 is memory-bound, even with the GEMMs padded to 64-row tiles (64 x the FLOPs)
    assert float(r.decode_memory_s) > 2 * float(r.decode_compute_s)


def test_h100_pp_split_layer_against_op():
    """tp 8 x pp 3, batch 3 (3 micro-batches of 1): whole-layer stages hold ceil(80/3) = 27
    layers and the busiest stage sets the token time (3 x 27 = 81 layer times > one traverse
    of 80 layers + 2 hops + head); op-granular stages hold 80/3 and the traverse sets it."""
    layer, _, _, _ = h100_layer(1, 1)
    head = h100_head(1)
    host = H100["host"] + 3 * H100["host_seq"]
    hop = 4e-6 + 2e-6 + D * 2 / 50e9  # software + one inter-node hop: tp 8 fills a node
    traverse = L * layer + 2 * hop + head
    by_layer = cd.evaluate_jit(*design("h100-sxm", "llama-2-70b", "fp8", "fp16", 8.0, 3.0, 3.0))
    assert 3 * 27 * layer > traverse
    check(by_layer, {
        # first and last stage each hold one vocabulary matrix
        "weight_bytes_per_chip": (27 * P_LAYER + P_EMB / 2) / 8,
        "decode_s_per_token": 3 * 27 * layer + host,
        "decode_hops_s": 2 * hop,
    })
    by_op = cd.evaluate_jit(*design("h100-sxm", "llama-2-70b", "fp8", "fp16", 8.0, 3.0, 3.0, pp_split="op"))
    check(by_op, {"weight_bytes_per_chip": P_TOTAL / 24, "decode_s_per_token": traverse + host})


def test_h100_price_mode_build_by_hand():
    """Build pricing: 4 x (good die + 80 GB x $10 + $1,970 package) per GPU, plus one node."""
    area = 793.1 + 87031808 / 1e6 / 4.17  # fixed logic + SRAM at N5 density (mm^2)
    dpw = math.pi * 150 ** 2 / area - math.pi * 300 / math.sqrt(2 * area)
    die_yield = (1 + area / 100 * 0.1 / 3) ** -3  # D0 0.1 /cm^2, alpha 3
    die = 16988 / (dpw * die_yield)
    price = 4.0 * (die + 80 * 10 + 1970)
    r = cd.evaluate_jit(*design("h100-sxm", "llama-2-70b", "fp8", "fp16", 8.0, 1.0, 1.0, price_mode="build"))
    check(r, {"die_area_mm2": area, "die_yield": die_yield, "die_cost_usd": die, "chip_price_usd": price,
              "capex_usd": 8 * price + 1 * 32000})  # 8 GPUs on one $32,000 node
    market = cd.evaluate_jit(*design("h100-sxm", "llama-2-70b", "fp8", "fp16", 8.0, 1.0, 1.0))
    assert float(market.chip_price_usd) == pytest.approx(27500.0)


def test_tpu_v5e_2d_torus_and_ring_across_hosts():
    """tp 16 on v5e (8 chips per 4x2 host): a 2-D torus all-reduce over 8 chips (4 (sqrt 8 - 1)
    dependent steps at 1 us, 180e9 B/s links) then a 2-chip ring across hosts (2 steps at
    1 us, 67.5e9 B/s), plus 1 us of software; bf16 everything, 1 us per op."""
    act = D * 2
    inside = 4 * (math.sqrt(8) - 1) * 1e-6 + 2 * 7 / 8 * act / 180e9
    across = 2 * (2 - 1) * 1e-6 + 2 * 1 / 2 * act / 67.5e9
    comm = 2 * (1e-6 + inside + across)
    kv = CTX * 2 * 8 * 128 * 2 / 8  # 8 KV heads: split 8 ways, replicated beyond
    hw, tp = V5E, 16
    layer = (vector(hw, 5 * D) + matmul(hw, 2 * P_QKV / tp, 2 * P_QKV / tp, 2, 2, 197e12, 1)
             + vector(hw, 3 * (64 + 8) * 128 / tp) + hw["floor"] + 2 * 8 * 128 * 2 / 8 / hw["bw"]
             + matmul(hw, 2 * CTX * 64 * 128 / tp, kv / 2, 2, 2, 197e12, 1)
             + vector(hw, 5 * 64 / tp * CTX, launches=0)
             + matmul(hw, 2 * CTX * 64 * 128 / tp, kv / 2, 2, 2, 197e12, 1, launches=0)
             + matmul(hw, 2 * P_OUT / tp, 2 * P_OUT / tp, 2, 2, 197e12, 1) + vector(hw, 5 * D)
             + matmul(hw, 4 * D * FFN / tp, 4 * D * FFN / tp, 2, 2, 197e12, 1)
             + vector(hw, 4 * FFN / tp) + matmul(hw, 2 * D * FFN / tp, 2 * D * FFN / tp, 2, 2, 197e12, 1)
             + comm)
    head = matmul(hw, 2 * P_HEAD / tp, 2 * P_HEAD / tp, 2, 2, 197e12, 1)
    r = cd.evaluate_jit(*design("tpu-v5e", "llama-2-70b", "bf16", "bf16", 16.0, 1.0, 1.0))
    check(r, {"decode_comm_s": L * comm, "decode_s_per_token": L * layer + head + 5.8e-4 + 1e-5,
              "weight_bytes_per_chip": P_TOTAL * 2 / 16, "memory_capacity_bytes": 0.9 * 16e9,
              "nodes": 2.0})


@pytest.mark.parametrize("tp", [4.0, 8.0])
def test_tpu_v5p_3d_torus(tp):
    """v5p hosts hold 4 chips of a 3-D torus: 2 x 3 (4^(1/3) - 1) = 3.52 dependent steps for 4
    chips (the 2-D formula gave 4 (sqrt 4 - 1) = 4), at 1 us and 540e9 B/s; tp 8 adds a
    2-chip ring across hosts at 360e9 B/s; 1 us of software per collective."""
    act = D * 2
    inside = 2 * 3 * (4 ** (1 / 3) - 1) * 1e-6 + 2 * 3 / 4 * act / 540e9
    across = 0.0 if tp == 4 else 2 * 1e-6 + 2 * 1 / 2 * act / 360e9
    r = cd.evaluate_jit(*design("tpu-v5p", "llama-2-70b", "bf16", "bf16", tp, 1.0, 1.0))
    check(r, {"decode_comm_s": L * 2 * (1e-6 + inside + across)})
    assert cd.load_hardware("tpu-v5p").system.intra_topology == "torus_3d"
    assert 2 * 3 * (4 ** (1 / 3) - 1) < 4 * (math.sqrt(4) - 1)


def test_mixtral_expert_parallel_all_to_all_by_hand():
    """Mixtral 8x7B (presets/models/mixtral-8x7b.yaml: d 4096, 32 heads, 8 KV heads of 128,
    8 experts of FFN 14336, top-2, 32 layers) on 8 x H100 at fp16, tp 8 = ep 8, batch 4:
    4 tokens touch 8 (1 - (1 - 2/8)^4) = 5.47 distinct experts per layer, whose weights are
    read; a router GEMM picks them; each token's activation is dispatched to 2 experts and
    combined back (all-to-all: 4 us software + one 1 us step over the switch); one all-reduce
    for attention; tp/ep = 1 needs none for the FFN."""
    d, ffn, e_params, t, tp, hw = 4096, 14336, 3 * 4096 * 14336, 4, 8, H100
    p_qkv, p_out = d * (32 * 128 + 2 * 8 * 128), 32 * 128 * d
    touched = 8 * (1 - (1 - 2 / 8) ** 4)
    kv = 4 * CTX * 2 * 8 * 128 * 2 / 8
    kv_new = t * 2 * 8 * 128 * 2 / 8
    experts = touched * e_params * 2 / tp  # bytes of the experts read, per GPU
    router = d * 8 * 2 / tp
    act = t * d * 2
    all_reduce = switch_all_reduce(act, 8)
    all_to_all = 4e-6 + 1e-6 + 7 / 8 * (2 * act) / 450e9
    comm = all_reduce + 2 * all_to_all
    layer = (vector(hw, 5 * t * d) + matmul(hw, 2 * t * p_qkv / tp, 2 * p_qkv / tp, 2, 2, 989e12, t)
             + vector(hw, 3 * t * (32 + 8) * 128 / tp) + hw["floor"] + kv_new / hw["bw"]
             + matmul(hw, 2 * t * CTX * 32 * 128 / tp, kv / 2, 2, 2, 989e12, t)
             + vector(hw, 5 * t * 32 / tp * CTX, launches=0)
             + matmul(hw, 2 * t * CTX * 32 * 128 / tp, kv / 2, 2, 2, 989e12, t, launches=0)
             + matmul(hw, 2 * t * p_out / tp, 2 * p_out / tp, 2, 2, 989e12, t) + vector(hw, 5 * t * d)
             + matmul(hw, 2 * t * d * 8 / tp, router, 2, 2, 989e12, t)
             + matmul(hw, 2 * t * 2 * (2 * d * ffn) / tp, 2 / 3 * experts, 2, 2, 989e12, t)
             + vector(hw, 4 * t * 2 * ffn / tp)
             + matmul(hw, 2 * t * 2 * (d * ffn) / tp, 1 / 3 * experts, 2, 2, 989e12, t) + comm)
    head = matmul(hw, 2 * t * VOCAB * d / tp, VOCAB * d * 2 / tp, 2, 2, 989e12, t)
    r = cd.evaluate_jit(*design("h100-sxm", "mixtral-8x7b", "fp16", "fp16", 8.0, 1.0, 4.0, ep=8.0))
    check(r, {"decode_comm_s": 32 * comm,
              "decode_memory_s": 32 * (p_qkv * 2 / 8 + p_out * 2 / 8 + kv_new + kv + experts + router) / 3.35e12,
              "decode_s_per_token": 32 * layer + head + hw["host"] + 4 * hw["host_seq"]})


def test_ring_inside_the_node_by_hand():
    """The same 8 GPUs wired as a ring instead of a switch: 2 (8 - 1) = 14 dependent steps
    after the 4 us of software."""
    chip, system, w, m, sc = design("h100-sxm", "llama-2-70b", "fp8", "fp16", 8.0, 1.0, 1.0)
    ring = cd.evaluate_jit(chip, replace(system, intra_topology="ring"), w, m, sc)
    all_reduce = 4e-6 + 2 * (8 - 1) * 1e-6 + 2 * 7 / 8 * (D * 2) / 450e9
    check(ring, {"decode_comm_s": L * 2 * all_reduce})
