"""Parameters, weight/KV bytes and FLOPs of one decoder layer, per chip.

All layers of a decoder are identical, so costs are computed for one layer and multiplied
by the layer count: evaluation cost does not grow with depth. Formulas follow the
scaling-book "inference" chapter; e.g. a matmul with P parameters on n tokens costs 2 n P
FLOPs and reads P x bytes-per-weight of weights.
"""

import jax.numpy as jnp

from ..specs import Workload, dtype_bytes
from ..specs._pytree import pytree_dataclass

#: The chain of dependent steps in one layer (each waits for the previous one's output), used
#: for the per-op latency floor. Element-wise ops that compilers fuse into a neighbour
#: (residual adds, dequantisation) are not counted.
DEPENDENT_OPS_PER_LAYER = (
    "rmsnorm_reduce", "rmsnorm_scale", "qkv_matmul", "rope", "qk_matmul", "softmax_max",
    "softmax_exp", "softmax_sum", "softmax_div", "av_matmul", "out_matmul", "residual",
    "rmsnorm_reduce", "rmsnorm_scale", "gate_up_matmul", "silu", "gate_mul", "down_matmul",
    "residual", "requantize",
)


def attention_params(w: Workload):
    """Q, K, V and output projections of one layer."""
    q = w.n_heads * w.head_dim
    kv = 2.0 * w.n_kv_heads * w.head_dim
    return w.d_model * (q + kv) + q * w.d_model


def expert_params(w: Workload):
    """One FFN (one expert for a MoE): gate, up, down (or up, down if not gated)."""
    return (3.0 if w.gated_ffn else 2.0) * w.d_model * w.ffn_dim


def is_moe(w: Workload):
    return w.n_experts > 0


def ffn_params(w: Workload):
    """FFN parameters of one layer (all experts plus the router for a MoE)."""
    moe = w.n_experts * expert_params(w) + w.d_model * w.n_experts
    return jnp.where(is_moe(w), moe, expert_params(w))


def layer_params(w: Workload):
    """Parameters of one decoder layer, including its two RMSNorm weight vectors."""
    return attention_params(w) + ffn_params(w) + 2.0 * w.d_model


def embedding_params(w: Workload):
    """Token embedding plus LM head (shared when tied) plus the final norm."""
    return w.vocab * w.d_model * (1.0 if w.tied_embeddings else 2.0) + w.d_model


def total_params(w: Workload):
    return w.layers * layer_params(w) + embedding_params(w)


def kv_bytes_per_token(w: Workload):
    """KV-cache bytes one token adds across all layers: L x 2 x kv_heads x head_dim x bytes."""
    return w.layers * 2.0 * w.n_kv_heads * w.head_dim * dtype_bytes(w.kv_dtype)


@pytree_dataclass
class LayerCost:
    """Per-chip work of one layer on one step, split by roofline block.

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
    """Expected distinct experts hit by ``tokens`` tokens routing top-k uniformly:
    E (1 - (1 - k/E)^n). Only these experts' weights are read."""
    e = jnp.maximum(w.n_experts, 1.0)
    return e * (1.0 - (1.0 - w.experts_per_token / e) ** tokens)


def layer_cost(w: Workload, tp, kv_shards, tokens, seqs, context) -> LayerCost:
    """Work per chip for one layer processing ``tokens`` new tokens of ``seqs`` sequences,
    each attending to ``context`` cached tokens.

    Args:
        tp: tensor-parallel degree (weights and heads split ``tp`` ways).
        kv_shards: ways the KV cache is split, min(tp, n_kv_heads) (replicated beyond that).
        tokens: tokens in this step (micro-batch size in decode, prompt length in prefill).
        seqs: sequences whose KV cache is read.
        context: tokens each query attends to (average over the step).
    """
    wb = dtype_bytes(w.weight_dtype)
    kvb = dtype_bytes(w.kv_dtype)
    proj = attention_params(w)
    touched = _experts_touched(w, tokens)
    ffn_read = jnp.where(is_moe(w), touched * expert_params(w) + w.d_model * w.n_experts,
                         expert_params(w))
    ffn_active = jnp.where(is_moe(w), w.experts_per_token, 1.0) * expert_params(w)
    q_width = w.n_heads * w.head_dim
    return LayerCost(
        proj_flops=2.0 * tokens * proj / tp,
        proj_bytes=proj * wb / tp,
        attn_flops=4.0 * tokens * context * q_width / tp,
        attn_bytes=seqs * context * 2.0 * w.n_kv_heads * w.head_dim * kvb / kv_shards,
        ffn_flops=2.0 * tokens * ffn_active / tp,
        ffn_bytes=ffn_read * wb / tp,
        act_bytes=tokens * w.d_model * dtype_bytes(w.act_dtype),
    )


def lm_head_cost(w: Workload, tp, tokens):
    """(FLOPs, weight bytes) per chip of the vocabulary projection for ``tokens`` tokens."""
    p = w.vocab * w.d_model
    return 2.0 * tokens * p / tp, p * dtype_bytes(w.weight_dtype) / tp


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("dataclasses", "jnp")]
