"""Parameter counts and KV bytes, golden values computed by hand."""
import pytest

import codesign as cd
from codesign.workload import kv_bytes_per_token, layer_params, total_params


def test_llama2_70b_parameter_count_exact(llama70b):
    d, ffn, vocab, L = 8192, 28672, 32000, 80
    qkv = d * (d + 2 * 8 * 128)  # 64 query heads + 8 KV heads of 128
    out = d * d
    mlp = 3 * d * ffn
    per_layer = qkv + out + mlp + 2 * d
    total = L * per_layer + 2 * vocab * d + d
    assert total == 68_976_648_192  # the released checkpoint's count
    w = llama70b.workload()
    assert float(layer_params(w)) == pytest.approx(per_layer, rel=1e-6)
    assert float(total_params(w)) == pytest.approx(total, rel=1e-6)


def test_kv_bytes_per_token_llama2_70b(llama70b):
    # 80 layers x (K and V) x 8 KV heads x 128 dims x 2 bytes
    assert float(kv_bytes_per_token(llama70b.workload(kv_dtype="fp16"))) == 327_680
    assert float(kv_bytes_per_token(llama70b.workload(kv_dtype="int8"))) == 163_840
    assert float(kv_bytes_per_token(llama70b.workload(kv_dtype="fp4"))) == 81_920


@pytest.mark.parametrize("name", cd.model_names())
def test_every_model_preset_within_1pct_of_published(name):
    md = cd.load_model(name)
    assert float(total_params(md.workload())) == pytest.approx(md.published_params, rel=0.01)


def test_mixtral_counts_all_experts_in_memory():
    md = cd.load_model("mixtral-8x7b")
    d, ffn, E = 4096, 14336, 8
    attn = d * (32 * 128 + 2 * 8 * 128) + 32 * 128 * d
    per_layer = attn + E * 3 * d * ffn + d * E + 2 * d
    total = 32 * per_layer + 2 * 32000 * d + d
    assert float(total_params(md.workload())) == pytest.approx(total, rel=1e-6)
    assert total == pytest.approx(46.7e9, rel=0.01)
