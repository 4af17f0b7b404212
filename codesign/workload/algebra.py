"""Parameters, weight/KV bytes and FLOPs of one decoder layer, per chip.

Layers come in a few kinds — dense or MoE FFN (``dense_layers`` leading dense layers),
full or sliding-window attention (``sliding_layers``) — so each quantity is computed once per
kind and weighted by the kind's share of the layers. Every per-layer function returns the
*average* layer (total over the layers / ``layers``), so ``layers x f(w)`` is the exact total
and evaluation cost does not grow with depth. With the default (zero) new fields every
formula reduces, bit for bit, to the plain decoder's.

Formulas follow the scaling-book "inference" chapter; e.g. a matmul with P parameters on n
tokens costs 2 n P FLOPs and reads P x bytes-per-weight of weights. Multi-head latent
attention (MLA) follows DeepSeek-V2 (arXiv:2405.04434) section 2.1 and the DeepSeek-V3
``modeling_deepseek.py`` projections (q_a/q_b, kv_a_proj_with_mqa, kv_b, o).
"""

import jax.numpy as jnp

from ..specs import Workload, dtype_bytes
from ..specs._pytree import pytree_dataclass


def _ffn_matrices(w: Workload) -> float:
    return 3.0 if w.gated_ffn else 2.0


def _mixed(base, other, share):
    """``base`` on a (1 - share) fraction of the layers and ``other`` on the rest, written so
    that share = 0 gives ``base`` exactly."""
    return base + share * (other - base)


def dense_share(w: Workload):
    """Fraction of the layers whose FFN is dense in a MoE model (first_k_dense_replace / L)."""
    return w.dense_layers / w.layers


def sliding_share(w: Workload):
    """Fraction of the layers with sliding-window attention."""
    return w.sliding_layers / w.layers


# ---------------------------------------------------------------- parameters

def mla_params(w: Workload):
    """MLA projections of one layer, with the two latent RMSNorm vectors:

    q: d x q_lora + q_lora + q_lora x H (d_nope + d_rope)   (d x H (d_nope + d_rope) if q_lora = 0)
    kv_a: d x (kv_lora + d_rope) + kv_lora;   kv_b: kv_lora x H (d_nope + d_v);   o: H d_v x d.
    """
    qk = w.qk_nope_head_dim + w.qk_rope_head_dim
    q = jnp.where(w.q_lora_rank > 0,
                  w.d_model * w.q_lora_rank + w.q_lora_rank + w.q_lora_rank * w.n_heads * qk,
                  w.d_model * w.n_heads * qk)
    kv_a = w.d_model * (w.kv_lora_rank + w.qk_rope_head_dim) + w.kv_lora_rank
    kv_b = w.kv_lora_rank * w.n_heads * (w.qk_nope_head_dim + w.v_head_dim)
    return q + kv_a + kv_b + w.n_heads * w.v_head_dim * w.d_model


def attention_params(w: Workload):
    """Q, K, V and output projections of one layer (MLA: :func:`mla_params`)."""
    if w.attention == "mla":
        return mla_params(w)
    q = w.n_heads * w.head_dim
    kv = 2.0 * w.n_kv_heads * w.head_dim
    return w.d_model * (q + kv) + q * w.d_model


def expert_dim(w: Workload):
    """FFN width of one expert: moe_ffn_dim, or ffn_dim when that is 0."""
    return jnp.where(w.moe_ffn_dim > 0, w.moe_ffn_dim, w.ffn_dim)


def expert_params(w: Workload):
    """One expert of a MoE layer: gate, up, down (or up, down if not gated) of expert_dim."""
    return _ffn_matrices(w) * w.d_model * expert_dim(w)


def dense_ffn_params(w: Workload):
    """The FFN of a dense layer (of ffn_dim)."""
    return _ffn_matrices(w) * w.d_model * w.ffn_dim


def is_moe(w: Workload):
    return w.n_experts > 0


def moe_ffn_params(w: Workload):
    """FFN of one MoE layer: routed and shared experts plus the router (d x n_experts)."""
    return (w.n_experts + w.n_shared_experts) * expert_params(w) + w.d_model * w.n_experts


def ffn_params(w: Workload):
    """FFN parameters of the average layer (all experts plus the router on MoE layers)."""
    return jnp.where(is_moe(w), _mixed(moe_ffn_params(w), dense_ffn_params(w), dense_share(w)),
                     dense_ffn_params(w))


def layer_params(w: Workload):
    """Parameters of the average decoder layer, including its two RMSNorm weight vectors."""
    return attention_params(w) + ffn_params(w) + 2.0 * w.d_model


def embedding_params(w: Workload):
    """Token embedding plus LM head (shared when tied) plus the final norm."""
    return w.vocab * w.d_model * (1.0 if w.tied_embeddings else 2.0) + w.d_model


def total_params(w: Workload):
    """Parameters of the main model (multi-token-prediction modules excluded, as published)."""
    return w.layers * layer_params(w) + embedding_params(w)


def active_ffn_params(w: Workload, router: bool = True):
    """FFN parameters one token uses in the average layer: k routed + shared experts (and the
    router unless ``router=False``) on MoE layers, the whole FFN on dense ones."""
    moe = (w.experts_per_token + w.n_shared_experts) * expert_params(w)
    if router:
        moe = moe + w.d_model * w.n_experts
    return jnp.where(is_moe(w), _mixed(moe, dense_ffn_params(w), dense_share(w)),
                     1.0 * dense_ffn_params(w))


def active_params(w: Workload):
    """Parameters read per token at batch 1 (the main model): every layer's attention, norms
    and active FFN, the final norm and the LM head; of the embedding table one row (d_model).

    This is the convention of DeepSeek (README_WEIGHTS: 36.6B "including 0.9B for the output
    Head") and OpenAI (gpt-oss model card: 5.13B); Qwen and Mistral also count the whole
    input embedding table (add vocab x d_model)."""
    per_layer = attention_params(w) + active_ffn_params(w) + 2.0 * w.d_model
    return w.layers * per_layer + w.vocab * w.d_model + 2.0 * w.d_model


def mtp_params(w: Workload):
    """Unique parameters of the multi-token-prediction modules (DeepSeek-V3: one): per module
    one MoE decoder layer, the projection of [embedding; hidden] (2d x d) and three RMSNorms
    (enorm, hnorm, shared-head norm); embedding and output head are shared with the model."""
    moe_layer = attention_params(w) + jnp.where(is_moe(w), moe_ffn_params(w), dense_ffn_params(w))
    module = moe_layer + 2.0 * w.d_model + 2.0 * w.d_model * w.d_model + 3.0 * w.d_model
    return w.mtp_modules * module


# ---------------------------------------------------------------- bytes

def expert_bytes_per_weight(w: Workload) -> float:
    """Bytes per expert weight: expert_dtype, or weight_dtype when that is ""."""
    return dtype_bytes(w.expert_dtype or w.weight_dtype)


def expert_bytes_adjustment(w: Workload):
    """Bytes to add to ``layer_params x bytes(weight_dtype)`` for the average layer when the
    experts are stored in ``expert_dtype`` (negative when narrower; exactly 0 when the same)."""
    delta = expert_bytes_per_weight(w) - dtype_bytes(w.weight_dtype)
    if delta == 0.0:
        return 0.0 * w.layers
    experts = (w.n_experts + w.n_shared_experts) * expert_params(w) * (1.0 - dense_share(w))
    return jnp.where(is_moe(w), experts, 0.0) * delta


def layer_weight_bytes(w: Workload):
    """Weight bytes of the average layer (experts in expert_dtype, the rest in weight_dtype)."""
    return layer_params(w) * dtype_bytes(w.weight_dtype) + expert_bytes_adjustment(w)


def total_weight_bytes(w: Workload):
    """Weight bytes of the whole model, plus the MTP modules when MTP drafting is on."""
    wb = dtype_bytes(w.weight_dtype)
    mtp = jnp.where(w.mtp_draft_tokens > 0, mtp_params(w), 0.0) * wb
    return total_params(w) * wb + w.layers * expert_bytes_adjustment(w) + mtp


def kv_bytes_per_token_layer(w: Workload):
    """KV-cache bytes one token adds to one (full-attention) layer:
    GQA 2 x kv_heads x head_dim x bytes; MLA (kv_lora_rank + qk_rope_head_dim) x bytes."""
    kvb = dtype_bytes(w.kv_dtype)
    if w.attention == "mla":
        return (w.kv_lora_rank + w.qk_rope_head_dim) * kvb
    return 2.0 * w.n_kv_heads * w.head_dim * kvb


def kv_bytes_per_token(w: Workload):
    """KV-cache bytes one token adds across all layers: L x :func:`kv_bytes_per_token_layer`
    (GQA: L x 2 x kv_heads x head_dim x bytes). Sliding-window layers keep only the last
    ``sliding_window`` tokens: use :func:`kv_bytes_per_sequence` for what a sequence holds."""
    if w.attention == "mla":
        return w.layers * kv_bytes_per_token_layer(w)
    return w.layers * 2.0 * w.n_kv_heads * w.head_dim * dtype_bytes(w.kv_dtype)


def kv_bytes_per_sequence(w: Workload, context):
    """KV-cache bytes held by one sequence of ``context`` tokens: full layers hold all of them,
    sliding-window layers at most ``sliding_window``."""
    evicted = w.sliding_layers * jnp.maximum(context - w.sliding_window, 0.0)
    return context * kv_bytes_per_token(w) - evicted * kv_bytes_per_token_layer(w)


# ---------------------------------------------------------------- multi-token prediction

def decode_tokens_per_step(w: Workload):
    """Expected tokens emitted per decode step with MTP drafting ``D = mtp_draft_tokens``
    tokens, each accepted with probability ``a = mtp_acceptance`` given the previous ones
    were: 1 + a + ... + a^D = (1 - a^(D+1)) / (1 - a); 1 when MTP is off."""
    a, d = w.mtp_acceptance, w.mtp_draft_tokens
    near_one = jnp.abs(1.0 - a) < 1e-3  # there: the first-order expansion about a = 1
    safe = jnp.where(near_one, 0.5, a)
    series = jnp.where(near_one, 1.0 + d + (a - 1.0) * d * (d + 1.0) / 2.0,
                       (1.0 - safe ** (d + 1.0)) / (1.0 - safe))
    return jnp.where(d > 0, series, 1.0)  # exactly 1 with MTP off


# ---------------------------------------------------------------- one step of work

@pytree_dataclass
class LayerCost:
    """Per-chip work of the average layer on one step, split by roofline block.

    Each ``*_flops`` / ``*_bytes`` pair is one block whose time is
    max(compute, memory) (roofline per op, not per model).
    """

    proj_flops: float  # QKV + output projections
    proj_bytes: float
    attn_flops: float  # QK^T and AV against the KV cache
    attn_bytes: float
    ffn_flops: float
    ffn_bytes: float
    act_bytes: float  # activation vector exchanged by each collective, per chip


def _experts_touched(w: Workload, tokens):
    """Expected distinct routed experts hit by ``tokens`` tokens routing top-k uniformly:
    E (1 - (1 - k/E)^n). Only these experts' weights (and the shared ones) are read."""
    e = jnp.maximum(w.n_experts, 1.0)
    return e * (1.0 - (1.0 - w.experts_per_token / e) ** tokens)


def mla_absorbed(tokens, seqs, context):
    """True where MLA runs the absorbed-weight path: fewer new tokens per sequence than
    cached ones (decode). Prefill (the whole prompt new) runs the naive path."""
    return tokens < seqs * context


def mla_attention_flops(w: Workload, tokens, context, absorbed):
    """FLOPs of MLA's attention core (scores and weighted sum, all heads) for ``tokens``
    queries against ``context`` cached tokens each.

    Absorbed (decode: W_UK folded into the query, W_UV applied after attention, both counted
    with the projections): scores over the latent and the rope key, 2 H (kv_lora + d_rope),
    and the sum over latents, 2 H kv_lora, per query-key pair. Naive (prefill: K and V
    decompressed per head): 2 H (d_nope + d_rope) + 2 H d_v per pair."""
    h = w.n_heads
    per_pair = jnp.where(absorbed, 2.0 * h * (2.0 * w.kv_lora_rank + w.qk_rope_head_dim),
                         2.0 * h * (w.qk_nope_head_dim + w.qk_rope_head_dim + w.v_head_dim))
    return tokens * context * per_pair


def _attention_core(w: Workload, tp, kv_shards, tokens, seqs, context):
    """(FLOPs, KV bytes) per chip of the attention core of one full-attention layer."""
    if w.attention == "mla":
        flops = mla_attention_flops(w, tokens, context, mla_absorbed(tokens, seqs, context)) / tp
        return flops, seqs * context * kv_bytes_per_token_layer(w) / kv_shards
    q_width = w.n_heads * w.head_dim
    kvb = dtype_bytes(w.kv_dtype)
    return (4.0 * tokens * context * q_width / tp,
            seqs * context * 2.0 * w.n_kv_heads * w.head_dim * kvb / kv_shards)


def layer_cost(w: Workload, tp, kv_shards, tokens, seqs, context) -> LayerCost:
    """Work per chip for the average layer processing ``tokens`` new tokens of ``seqs``
    sequences, each attending to ``context`` cached tokens (sliding-window layers to at most
    ``sliding_window``); dense and MoE FFN layers weighted by their counts.

    Args:
        tp: tensor-parallel degree (weights and heads split ``tp`` ways).
        kv_shards: ways the KV cache is split, min(tp, n_kv_heads) (replicated beyond that;
            an MLA latent is one head, so it is replicated).
        tokens: tokens in this step (micro-batch size in decode, prompt length in prefill).
        seqs: sequences whose KV cache is read.
        context: tokens each query attends to (average over the step).
    """
    wb = dtype_bytes(w.weight_dtype)
    eb = expert_bytes_per_weight(w)
    proj = attention_params(w)
    full_flops, full_bytes = _attention_core(w, tp, kv_shards, tokens, seqs, context)
    window = jnp.minimum(context, w.sliding_window)
    win_flops, win_bytes = _attention_core(w, tp, kv_shards, tokens, seqs, window)
    touched = _experts_touched(w, tokens) + w.n_shared_experts
    if eb == wb:
        moe_read = (touched * expert_params(w) + w.d_model * w.n_experts) * wb
    else:
        moe_read = touched * expert_params(w) * eb + w.d_model * w.n_experts * wb
    dense = dense_ffn_params(w)
    ffn_read = jnp.where(is_moe(w), _mixed(moe_read, dense * wb, dense_share(w)), dense * wb)
    return LayerCost(
        proj_flops=2.0 * tokens * proj / tp,
        proj_bytes=proj * wb / tp,
        attn_flops=_mixed(full_flops, win_flops, sliding_share(w)),
        attn_bytes=_mixed(full_bytes, win_bytes, sliding_share(w)),
        ffn_flops=2.0 * tokens * active_ffn_params(w, router=False) / tp,  # router FLOPs ~2dE: left out
        ffn_bytes=ffn_read / tp,
        act_bytes=tokens * w.d_model * dtype_bytes(w.act_dtype),
    )


def lm_head_cost(w: Workload, tp, tokens):
    """(FLOPs, weight bytes) per chip of the vocabulary projection for ``tokens`` tokens."""
    p = w.vocab * w.d_model
    return 2.0 * tokens * p / tp, p * dtype_bytes(w.weight_dtype) / tp


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("dataclasses", "jnp")]
