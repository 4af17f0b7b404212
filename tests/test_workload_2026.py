"""Issue 10, the 2025 model architectures: parameter counts of the new presets against the
published ones, MLA KV bytes and absorbed-decode FLOPs, MoE with shared experts and dense
first layers, sliding-window KV, block-scaled 4-bit formats and multi-token prediction, all
as goldens computed by hand; the shipped-format defaults; the single-stream speeds."""
import jax
import jax.numpy as jnp
import pytest

import codesign as cd
from codesign.config import build_design
from codesign.model.memory import memory_use
from codesign.model.smooth import EXACT
from codesign.specs import dtype_bytes
from codesign.specs.dtypes import peak_flops_per_s, scale_overhead_bytes
from codesign.workflows import evaluate_request
from codesign.workload import (active_params, decode_tokens_per_step, kv_bytes_per_sequence,
                               kv_bytes_per_token, kv_bytes_per_token_layer, layer_cost,
                               layer_params, mtp_params, total_params, total_weight_bytes)

#: name: (total, active per token, whether the publisher's active count includes the
#: embedding table, source)
PUBLISHED = {
    "llama-3.3-70b": (70.6e9, 70.6e9, True, "HF meta-llama/Llama-3.3-70B-Instruct: 70.6B; dense"),
    "deepseek-v3": (671e9, 36.6e9, False, "DeepSeek-V3 README 671B; README_WEIGHTS.md 36.6B incl. 0.9B head"),
    "deepseek-r1": (671e9, 36.6e9, False, "DeepSeek-R1 README 671B / 37B; same weights layout as V3"),
    "gpt-oss-120b": (116.83e9, 5.13e9, False, "gpt-oss model card (arXiv:2508.10925) Table 1"),
    "gpt-oss-20b": (20.91e9, 3.61e9, False, "gpt-oss model card Table 1"),
    "qwen3-235b-a22b": (235e9, 22e9, True, "Qwen3-235B-A22B model card: 235B total, 22B activated"),
    "qwen3-32b": (32.8e9, 32.8e9, True, "Qwen3-32B model card: 32.8B"),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_total_and_active_parameters_within_1pct_of_published(name):
    total, active, with_embedding, _source = PUBLISHED[name]
    md = cd.load_model(name)
    w = md.workload()
    assert (md.published_params, md.published_active_params) == (total, active)
    assert md.active_counts_embedding == with_embedding
    assert float(total_params(w)) == pytest.approx(total, rel=0.01)
    counted = float(active_params(w)) + (w.vocab * w.d_model if with_embedding else 0.0)
    assert counted == pytest.approx(active, rel=0.01)


def test_deepseek_v3_parameters_by_hand():
    d, h, L = 7168, 128, 61
    mla = (d * 1536 + 1536 + 1536 * h * (128 + 64)  # q_a, q_a_layernorm, q_b
           + d * (512 + 64) + 512                   # kv_a_proj_with_mqa, kv_a_layernorm
           + 512 * h * (128 + 128)                  # kv_b
           + h * 128 * d)                           # o_proj
    assert mla == 187_107_328
    expert = 3 * d * 2048
    moe_layer = mla + (256 + 1) * expert + d * 256 + 2 * d
    dense_layer = mla + 3 * d * 18432 + 2 * d
    total = 3 * dense_layer + 58 * moe_layer + 2 * 129280 * d + d
    assert total == 671_026_404_352  # DeepSeek: 671B main model
    active = 3 * dense_layer + 58 * (mla + 9 * expert + d * 256 + 2 * d) + 129280 * d + 2 * d
    assert active == 36_625_610_752  # README_WEIGHTS.md: 36.6B including the 0.9B head
    w = cd.load_model("deepseek-v3").workload()
    assert float(total_params(w)) == pytest.approx(total, rel=1e-6)
    assert float(active_params(w)) == pytest.approx(active, rel=1e-6)
    assert float(layer_params(w)) * L == pytest.approx(total - 2 * 129280 * d - d, rel=1e-6)
    # One MTP module: an MoE layer + eh_proj (2d x d) + enorm, hnorm, shared-head norm.
    assert float(mtp_params(w)) == pytest.approx(moe_layer + 2 * d * d + 3 * d, rel=1e-6)
    assert float(mtp_params(w)) == pytest.approx(11.5e9, rel=0.01)  # README_WEIGHTS: 11.5B unique


def test_gpt_oss_120b_parameters_and_mxfp4_bytes_by_hand():
    d, L, E, v = 2880, 36, 128, 201088
    attn = d * (64 * 64 + 2 * 8 * 64) + 64 * 64 * d
    experts = L * E * 3 * d * d
    total = L * (attn + E * 3 * d * d + d * E + 2 * d) + 2 * v * d + d
    assert total == 116_789_048_640  # model card 116.83B with the biases this model leaves out
    w = cd.load_model("gpt-oss-120b").workload("bf16", "bf16", "bf16", expert_dtype="mxfp4")
    assert float(total_params(w)) == pytest.approx(total, rel=1e-6)
    # Experts at 4.25 bits, everything else (attention, router, norms, embeddings) at bf16.
    assert float(total_weight_bytes(w)) == pytest.approx((total - experts) * 2 + experts * 17 / 32, rel=1e-6)


# Existing presets, float32 totals before the 2025 fields (must stay exactly equal).
UNCHANGED = {"llama-2-7b": 6738415616.0, "llama-2-13b": 13015864320.0, "llama-2-70b": 68976648192.0,
             "llama-3.1-8b": 8030261248.0, "llama-3.1-70b": 70553706496.0,
             "llama-3.1-405b": 405853372416.0, "mixtral-8x7b": 46702792704.0,
             "mixtral-8x22b": 140630065152.0}


@pytest.mark.parametrize("name", sorted(UNCHANGED))
def test_existing_models_unchanged(name):
    w = cd.load_model(name).workload("int8")
    assert float(total_params(w)) == UNCHANGED[name]
    assert float(total_weight_bytes(w)) == UNCHANGED[name]  # int8: 1 byte per parameter
    assert float(kv_bytes_per_sequence(w, 1000.0)) == 1000.0 * float(kv_bytes_per_token(w))


def test_mla_kv_bytes_per_token_per_layer_golden():
    w = cd.load_model("deepseek-v3").workload(kv_dtype="bf16")
    assert float(kv_bytes_per_token_layer(w)) == (512 + 64) * 2  # (kv_lora_rank + qk_rope_head_dim) x 2 B
    assert float(kv_bytes_per_token(w)) == 61 * 1152 == 70_272
    w8 = cd.load_model("deepseek-v3").workload(kv_dtype="fp8")
    assert float(kv_bytes_per_token_layer(w8)) == 576
    # 57x less than the 128 decompressed K and V heads of 128 would hold (2 x 128 x 128 x 2 B).
    assert 2 * 128 * 128 * 2 / 1152 == pytest.approx(56.9, rel=1e-3)


def test_mla_absorbed_decode_and_naive_prefill_flops_golden():
    w = cd.load_model("deepseek-v3").workload("fp8", "bf16", "bf16")
    # Decode: 1 token against 4096 cached; absorbed path 2 H (2 kv_lora + d_rope) per pair.
    lc = layer_cost(w, 1.0, 1.0, 1.0, 1.0, 4096.0)
    assert float(lc.attn_flops) == 4096 * 2 * 128 * (2 * 512 + 64) == 1_140_850_688
    assert float(lc.attn_bytes) == 4096 * 1152  # the latent cache, shared by all heads
    assert float(lc.proj_flops) == 2 * 187_107_328
    # Shared + 8 routed experts on the 58 MoE layers, the dense FFN on 3, all fp8.
    expert = 3 * 7168 * 2048
    ffn_bytes = 58 * (9 * expert + 7168 * 256) + 3 * 3 * 7168 * 18432
    assert 61 * float(lc.ffn_bytes) == pytest.approx(ffn_bytes, rel=1e-6)
    assert 61 * float(lc.ffn_flops) == pytest.approx(2 * (58 * 9 * expert + 3 * 3 * 7168 * 18432), rel=1e-6)
    # Prefill (1024 new tokens, 512 on average before each): naive path 2 H (d_nope + d_rope + d_v).
    pre = layer_cost(w, 8.0, 1.0, 1024.0, 1.0, 512.0)
    assert float(pre.attn_flops) == 1024 * 512 * 2 * 128 * (128 + 64 + 128) / 8


def test_block_scaled_4bit_formats_bytes_and_rates():
    assert dtype_bytes("mxfp4") == 4.25 / 8 == 0.53125  # 32 x E2M1 + one E8M0 scale
    assert dtype_bytes("nvfp4") == 4.5 / 8 == 0.5625  # 16 x E2M1 + one E4M3 scale
    assert scale_overhead_bytes("mxfp4", 4096.0) == 128.0
    assert scale_overhead_bytes("nvfp4", 4096.0) == 256.0
    assert scale_overhead_bytes("fp8", 4096.0) == 0.0
    assert 4096 * dtype_bytes("mxfp4") == 4096 * dtype_bytes("fp4") + 128
    h100, b200 = cd.load_hardware("h100-sxm").chip, cd.load_hardware("b200").chip
    assert float(h100.fp4_flops_per_s) == 0.0 and float(b200.fp4_flops_per_s) > 0.0
    assert float(peak_flops_per_s(h100, "mxfp4")) == pytest.approx(float(h100.bf16_flops_per_s))  # dequantised
    assert float(peak_flops_per_s(b200, "nvfp4")) == pytest.approx(float(b200.fp4_flops_per_s))
    assert float(h100.flops_per_s("fp4")) == 0.0  # plain fp4 stays unsupported there


def test_sliding_window_layers_hold_at_most_the_window():
    w = cd.load_model("gpt-oss-120b").workload(kv_dtype="bf16")
    per_layer = 2 * 8 * 64 * 2
    assert float(kv_bytes_per_token(w)) == 36 * per_layer == 73_728
    assert float(kv_bytes_per_sequence(w, 100.0)) == 100 * 73_728  # under the window: all layers
    assert float(kv_bytes_per_sequence(w, 4096.0)) == (18 * 4096 + 18 * 128) * per_layer
    lc = layer_cost(w, 1.0, 1.0, 1.0, 1.0, 4096.0)
    assert float(lc.attn_bytes) * 36 == (18 * 4096 + 18 * 128) * per_layer
    assert float(lc.attn_flops) * 36 == 4 * (18 * 4096 + 18 * 128) * 64 * 64


def test_mtp_tokens_per_step():
    w = cd.load_model("deepseek-v3").workload()
    assert float(decode_tokens_per_step(w)) == 1.0  # off by default
    on = lambda d, a: cd.specs.replace(w, mtp_draft_tokens=d, mtp_acceptance=a)  # noqa: E731
    assert float(decode_tokens_per_step(on(1.0, 0.85))) == pytest.approx(1.85)
    assert float(decode_tokens_per_step(on(3.0, 0.5))) == pytest.approx(1 + 0.5 + 0.25 + 0.125)
    assert float(decode_tokens_per_step(on(2.0, 1.0))) == 3.0
    grad = jax.grad(lambda a: decode_tokens_per_step(on(2.0, a)))
    assert float(grad(jnp.float32(1.0))) == pytest.approx(3.0) and jnp.isfinite(grad(jnp.float32(0.3)))


def test_shipped_formats_are_the_defaults_and_a_given_dtype_wins():
    ds = build_design({"hardware": "h200-sxm", "model": "deepseek-r1", "tp": 8, "pp": 1})
    assert ds.workload.weight_dtype == "fp8" and "ships in" in ds.chosen["weight_dtype"]
    assert ds.mapping.ep == 8 and "expert parallel" in ds.chosen["ep"]
    oss = build_design({"hardware": "h100-sxm", "model": "gpt-oss-120b", "tp": 1, "pp": 1})
    assert (oss.workload.weight_dtype, oss.workload.expert_dtype) == ("bf16", "mxfp4")
    assert "no fp4 units" in oss.chosen["expert_dtype"]
    assert float(memory_use(EXACT, oss.chip, oss.workload, oss.mapping, oss.scenario).fits) == 1.0
    given = build_design({"hardware": "h200-sxm", "model": "deepseek-r1", "tp": 8, "pp": 1,
                          "weight_dtype": "bf16"})
    assert given.workload.weight_dtype == "bf16" and "weight_dtype" not in given.chosen
    one = build_design({"hardware": "h100-sxm", "model": "deepseek-v3", "tp": 1, "pp": 1})
    assert float(memory_use(EXACT, one.chip, one.workload, one.mapping, one.scenario).fits) == 0.0
    for bad, match in (({"mtp_acceptance": 1.5}, "probability"), ({"layers": 0}, "layers = 0"),
                       ({"sliding_layers": 62}, "0..61")):
        with pytest.raises(cd.ConfigError, match=match):
            build_design({"hardware": "h200-sxm", "model": "deepseek-r1", "tp": 8, "pp": 1, "workload": bad})
    mtp = build_design({"hardware": "h200-sxm", "model": "deepseek-r1", "tp": 8, "pp": 1,
                        "workload": {"mtp_draft_tokens": 1}})
    assert float(decode_tokens_per_step(mtp.workload)) == pytest.approx(1.85)  # preset acceptance 0.85


# Published batch-1 decode speeds (docs/models_2026.md): DeepSeek-R1 on 8 x H200 fp8 ~33
# tokens/s per user (Inspur NF5688G7, SGLang 0.4.3, with MTP); gpt-oss-120b on one H100 SXM
# (MXFP4 experts, vLLM) ~ 128-511 tokens/s (Millstone AI: 511 tok/s peak over 1-4 requests).
@pytest.mark.parametrize("request_, published", [
    ({"hardware": "h200-sxm", "model": "deepseek-r1", "chips": 8, "tp": 8}, 33.0),
    ({"hardware": "h100-sxm", "model": "gpt-oss-120b", "chips": 1}, 250.0),
])
def test_single_stream_speed_within_an_order_of_magnitude(request_, published):
    r = evaluate_request(dict(request_, prompt_tokens=1024, output_tokens=256))
    assert r["fits"] == 1.0
    assert published / 10 < r["decode_tokens_per_s_per_user"] < published * 10
