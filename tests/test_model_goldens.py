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
OPS = 20  # dependent ops per layer (codesign.workload.DEPENDENT_OPS_PER_LAYER)
PROMPT, OUT = 2048, 256
CTX = PROMPT + OUT / 2  # average context of a decode step

# h100-sxm.yaml: HBM 80e9 B at 3.35e12 B/s, fp8 1979e12 and fp16 989e12 FLOP/s, clock
# 1.98e9 Hz with 5940 cycles per dependent op (3 us), NVLink 450e9 B/s and 1 us per hop on an
# NVSwitch (one-shot: 2 steps), 8 GPUs per node, 50e9 B/s and 2 us per hop between nodes.
H100_OP = 5940 / 1.98e9


def design(hw, model, wdt, kvdt, tp, pp, batch, ep=1.0, **chip_changes):
    hwp, md = cd.load_hardware(hw), cd.load_model(model)
    chip = replace(hwp.chip, **chip_changes) if chip_changes else hwp.chip
    return (chip, hwp.system, md.workload(wdt, kvdt, kvdt),
            cd.Mapping(tp=tp, pp=pp, ep=ep, dp=1.0, batch=batch), cd.Scenario(PROMPT, OUT))


def roofline(flops, n_bytes, flops_per_s, bytes_per_s):
    """One op block: max(compute, memory) (every preset here has efficiencies of 1)."""
    return max(flops / flops_per_s, n_bytes / bytes_per_s)


def check(r, expected: dict):
    for k, v in expected.items():
        assert float(getattr(r, k)) == pytest.approx(v, rel=2e-5), k


def h100_layer(tokens, seqs, tp=8):
    """Llama-2-70B layer on H100 at fp8 weights / fp16 KV and activations: (layer s, memory s,
    comm s)."""
    kv_bytes = seqs * CTX * 2 * 8 * 128 * 2 / min(tp, 8)
    mem = (P_PROJ / tp + kv_bytes + P_FFN / tp) / 3.35e12
    compute = (roofline(2 * tokens * P_PROJ / tp, P_PROJ / tp, 1979e12, 3.35e12)
               + roofline(4 * tokens * CTX * 64 * 128 / tp, kv_bytes, 989e12, 3.35e12)
               + roofline(2 * tokens * P_FFN / tp, P_FFN / tp, 1979e12, 3.35e12))
    act = tokens * D * 2
    all_reduce = 2 * 1e-6 + 2 * (tp - 1) / tp * act / 450e9  # one-shot over the switch
    comm = 2 * all_reduce  # attention output and FFN output
    return compute + OPS * H100_OP + comm, mem, comm


def test_h100_switch_hbm_decode_by_hand():
    """8 x H100, tp 8, batch 1: weights in HBM, decode memory-bound, one-shot all-reduce."""
    r = cd.evaluate_jit(*design("h100-sxm", "llama-2-70b", "fp8", "fp16", 8.0, 1.0, 1.0))
    layer, mem, comm = h100_layer(1, 1)
    head = roofline(2 * P_HEAD / 8, P_HEAD / 8, 1979e12, 3.35e12) + H100_OP
    check(r, {
        "weight_bytes_per_chip": P_TOTAL / 8,  # fp8: 1 byte per parameter, pp 1
        "kv_bytes_per_chip": (PROMPT + OUT) * 2 * L * 8 * 128 * 2 / 8,
        "memory_capacity_bytes": 80e9,  # the HBM tier, not the 87 MB of SRAM
        "min_chips_weights": math.ceil(P_TOTAL / 80e9),  # 69 GB -> 1 GPU
        "decode_memory_s": L * mem,
        "decode_comm_s": L * comm,
        "decode_floor_s": L * OPS * H100_OP,
        "decode_s_per_token": L * layer + head,
    })
    assert float(r.fits) == 1.0
    assert float(r.decode_memory_s) > 10 * float(r.decode_compute_s)  # batch 1: memory-bound


def test_h100_pp_split_layer_against_op():
    """tp 8 x pp 3, batch 3 (3 micro-batches of 1): whole-layer stages hold ceil(80/3) = 27
    layers and the busiest stage sets the token time (3 x 27 = 81 layer times > one traverse
    of 80 layers + 2 hops + head); op-granular stages hold 80/3 and the traverse sets it."""
    layer, _, _ = h100_layer(1, 1)
    head = roofline(2 * P_HEAD / 8, P_HEAD / 8, 1979e12, 3.35e12) + H100_OP
    hop = 2e-6 + D * 2 / 50e9  # tp 8 fills a node: every hop crosses nodes
    traverse = L * layer + 2 * hop + head
    by_layer = cd.evaluate_jit(*design("h100-sxm", "llama-2-70b", "fp8", "fp16", 8.0, 3.0, 3.0))
    assert 3 * 27 * layer > traverse
    check(by_layer, {
        # first and last stage each hold one vocabulary matrix
        "weight_bytes_per_chip": (27 * P_LAYER + P_EMB / 2) / 8,
        "decode_s_per_token": 3 * 27 * layer,
        "decode_hops_s": 2 * hop,
    })
    by_op = cd.evaluate_jit(*design("h100-sxm", "llama-2-70b", "fp8", "fp16", 8.0, 3.0, 3.0, pp_split="op"))
    check(by_op, {"weight_bytes_per_chip": P_TOTAL / 24, "decode_s_per_token": traverse})


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
    1 us, 67.5e9 B/s); bf16 everything, HBM 0.81e12 B/s, bf16 197e12 FLOP/s, 1 us per op."""
    act = D * 2
    inside = 4 * (math.sqrt(8) - 1) * 1e-6 + 2 * 7 / 8 * act / 180e9
    across = 2 * (2 - 1) * 1e-6 + 2 * 1 / 2 * act / 67.5e9
    comm = 2 * (inside + across)
    kv_bytes = CTX * 2 * 8 * 128 * 2 / 8  # 8 KV heads: split 8 ways, replicated beyond
    layer = (roofline(2 * P_PROJ / 16, P_PROJ * 2 / 16, 197e12, 0.81e12)  # 2 bytes per weight
             + roofline(4 * CTX * 64 * 128 / 16, kv_bytes, 197e12, 0.81e12)
             + roofline(2 * P_FFN / 16, P_FFN * 2 / 16, 197e12, 0.81e12)
             + OPS * 1e-6 + comm)
    head = roofline(2 * P_HEAD / 16, P_HEAD * 2 / 16, 197e12, 0.81e12) + 1e-6
    r = cd.evaluate_jit(*design("tpu-v5e", "llama-2-70b", "bf16", "bf16", 16.0, 1.0, 1.0))
    check(r, {"decode_comm_s": L * comm, "decode_s_per_token": L * layer + head,
              "weight_bytes_per_chip": P_TOTAL * 2 / 16, "memory_capacity_bytes": 16e9,
              "nodes": 2.0})


@pytest.mark.parametrize("tp", [4.0, 8.0])
def test_tpu_v5p_3d_torus(tp):
    """v5p hosts hold 4 chips of a 3-D torus: 2 x 3 (4^(1/3) - 1) = 3.52 dependent steps for 4
    chips (the 2-D formula gave 4 (sqrt 4 - 1) = 4), at 1 us and 540e9 B/s; tp 8 adds a
    2-chip ring across hosts at 360e9 B/s."""
    act = D * 2
    inside = 2 * 3 * (4 ** (1 / 3) - 1) * 1e-6 + 2 * 3 / 4 * act / 540e9
    across = 0.0 if tp == 4 else 2 * 1e-6 + 2 * 1 / 2 * act / 360e9
    r = cd.evaluate_jit(*design("tpu-v5p", "llama-2-70b", "bf16", "bf16", tp, 1.0, 1.0))
    check(r, {"decode_comm_s": L * 2 * (inside + across)})
    assert cd.load_hardware("tpu-v5p").system.intra_topology == "torus_3d"
    assert 2 * 3 * (4 ** (1 / 3) - 1) < 4 * (math.sqrt(4) - 1)


def test_mixtral_expert_parallel_all_to_all_by_hand():
    """Mixtral 8x7B (presets/models/mixtral-8x7b.yaml: d 4096, 32 heads, 8 KV heads of 128,
    8 experts of FFN 14336, top-2, 32 layers) on 8 x H100 at fp16, tp 8 = ep 8, batch 4:
    4 tokens touch 8 (1 - (1 - 2/8)^4) = 5.47 distinct experts per layer, whose weights are
    read; each token's activation is dispatched to 2 experts and combined back (all-to-all,
    one step over the switch); one all-reduce for attention; tp/ep = 1 needs none for FFN."""
    d, e_params = 4096, 3 * 4096 * 14336
    p_proj = d * (32 * 128 + 2 * 8 * 128) + 32 * 128 * d
    touched = 8 * (1 - (1 - 2 / 8) ** 4)
    kv_bytes = 4 * CTX * 2 * 8 * 128 * 2 / 8
    ffn_bytes = (touched * e_params + d * 8) * 2 / 8  # experts read + router
    layer = (roofline(2 * 4 * p_proj / 8, p_proj * 2 / 8, 989e12, 3.35e12)
             + roofline(4 * 4 * CTX * 32 * 128 / 8, kv_bytes, 989e12, 3.35e12)
             + roofline(2 * 4 * 2 * e_params / 8, ffn_bytes, 989e12, 3.35e12))
    act = 4 * d * 2
    all_reduce = 2 * 1e-6 + 2 * 7 / 8 * act / 450e9
    all_to_all = 1e-6 + 7 / 8 * (2 * act) / 450e9
    comm = all_reduce + 2 * all_to_all
    r = cd.evaluate_jit(*design("h100-sxm", "mixtral-8x7b", "fp16", "fp16", 8.0, 1.0, 4.0, ep=8.0))
    check(r, {"decode_comm_s": 32 * comm,
              "decode_memory_s": 32 * (p_proj * 2 / 8 + kv_bytes + ffn_bytes) / 3.35e12,
              "decode_s_per_token": 32 * (layer + OPS * H100_OP + comm)
              + roofline(2 * 4 * VOCAB * d / 8, VOCAB * d * 2 / 8, 989e12, 3.35e12) + H100_OP})


def test_ring_inside_the_node_by_hand():
    """The same 8 GPUs wired as a ring instead of a switch: 2 (8 - 1) = 14 dependent steps."""
    chip, system, w, m, sc = design("h100-sxm", "llama-2-70b", "fp8", "fp16", 8.0, 1.0, 1.0)
    ring = cd.evaluate_jit(chip, replace(system, intra_topology="ring"), w, m, sc)
    all_reduce = 2 * (8 - 1) * 1e-6 + 2 * 7 / 8 * (D * 2) / 450e9
    check(ring, {"decode_comm_s": L * 2 * all_reduce})
