"""A decoder layer as a small static op graph.

Structure (which ops exist, the unit kind each runs on, its dependencies) is static Python,
so a schedule over it unrolls at trace time; the work of each op (FLOPs, bytes, vector
operations, collective bytes) is traced, built from :func:`~codesign.workload.algebra.layer_cost`
so there is one formula per quantity. Ops that a workload lacks (the router and the
all-to-alls of a dense model) carry zero work and zero launches, so one graph serves dense
and MoE models alike.

Compute precision: a matrix op computes in the wider of its stored operand's format and the
activation format (weight-only quantization, e.g. int8 weights with fp16 activations, computes
at the fp16 rate); narrower stored operands are converted on the vector unit first
(``DEQUANT_OPS_PER_ELEMENT`` operations per element).
"""
import dataclasses

import jax.numpy as jnp

from ..specs import Workload, dtype_bytes
from .algebra import (attention_params, dense_share, expert_dim, is_moe, kv_bytes_per_token_layer,
                      layer_cost, sliding_share)

#: Kinds of unit an op runs on; a chip's execution model maps each to one of its units.
UNIT_KINDS = ("matrix", "vector", "memory", "network")
#: Collective algorithms of network ops.
COLLECTIVES = ("all_reduce", "all_to_all")

#: Vector operations per element of a dequantization (convert + scale) [assumption]: one
#: format conversion and one multiply by the group scale per stored element.
DEQUANT_OPS_PER_ELEMENT = 2.0
#: Vector operations per element of the element-wise ops [assumption], counted from the
#: formulas: RMSNorm with the residual add (add, square, accumulate, scale, weight) 5;
#: rotary embedding (2 multiplies + 1 add per rotated element) 3; softmax (max, subtract,
#: exp, sum, divide) 5; SiLU-gated activation (exp, add, divide, multiply by up) 4.
NORM_OPS, ROPE_OPS, SOFTMAX_OPS, ACT_OPS = 5.0, 3.0, 5.0, 4.0


@dataclasses.dataclass(frozen=True)
class Op:
    """One node of the layer graph (static).

    Attributes:
        name: op name.
        unit: the kind of unit that runs it (:data:`UNIT_KINDS`).
        deps: indices of the ops whose outputs it waits for (all earlier in the graph).
        collective: for network ops, the algorithm (:data:`COLLECTIVES`).
        operand: for matrix ops, the stored operand: ``"weight"`` or ``"kv"``.
    """

    name: str
    unit: str
    deps: tuple = ()
    collective: str = ""
    operand: str = ""


#: The layer graph of a pre-norm decoder (Llama/Mixtral order), topologically ordered. Kernel
#: boundaries follow vLLM's Llama decode path (fused add+RMSNorm, QKV GEMM, rotary, KV-cache
#: write, one flash-attention kernel for scores/softmax/values, output GEMM, all-reduce, ...).
LAYER_OPS = (
    Op("norm_attn", "vector"),                                  # 0
    Op("qkv", "matrix", (0,), operand="weight"),                # 1
    Op("rope", "vector", (1,)),                                 # 2
    Op("kv_write", "memory", (2,)),                             # 3
    Op("scores", "matrix", (2,), operand="kv"),                 # 4
    Op("softmax", "vector", (4,)),                              # 5
    Op("values", "matrix", (5, 3), operand="kv"),               # 6
    Op("out_proj", "matrix", (6,), operand="weight"),           # 7
    Op("all_reduce_attn", "network", (7,), "all_reduce"),       # 8
    Op("norm_ffn", "vector", (8,)),                             # 9
    Op("router", "matrix", (9,), operand="weight"),             # 10
    Op("dispatch", "network", (10,), "all_to_all"),             # 11
    Op("gate_up", "matrix", (11,), operand="weight"),           # 12
    Op("act", "vector", (12,)),                                 # 13
    Op("down", "matrix", (13,), operand="weight"),              # 14
    Op("combine", "network", (14,), "all_to_all"),              # 15
    Op("all_reduce_ffn", "network", (15,), "all_reduce"),       # 16
)
OP_NAMES = tuple(op.name for op in LAYER_OPS)


@dataclasses.dataclass(frozen=True)
class OpWork:
    """Traced work of one op on one chip (all floats).

    Attributes:
        flops: matrix FLOPs (at the op's compute precision).
        vector_ops: element operations on the vector unit (incl. dequantization).
        mem_bytes: bytes read from (or written to) the weight tier: weights, KV cache.
        install_bytes: bytes entering the matrix unit as its stationary operand, in the
            compute format (weights or K/V).
        net_bytes: bytes per chip a collective carries.
        group: chips in the collective group (1: no collective).
        launches: kernels launched for it on a kernel-launching chip (0 when fused into the
            previous kernel or absent).
        present: 1.0 when the workload has the op, 0.0 when not (a dense model's router).
        rows: rows of the streamed operand (tokens), for tile quantization of matrix ops.
    """

    flops: float = 0.0
    vector_ops: float = 0.0
    mem_bytes: float = 0.0
    install_bytes: float = 0.0
    net_bytes: float = 0.0
    group: float = 1.0
    launches: float = 1.0
    present: float = 1.0
    rows: float = 1.0


def matrix_dtype(stored: str, act: str) -> str:
    """Format a matrix op computes in: the wider of the stored operand's and the
    activations' (ties: the stored one). int8 weights with fp16 activations -> fp16."""
    return act if dtype_bytes(act) > dtype_bytes(stored) else stored


def op_dtypes(w: Workload) -> dict:
    """Compute format of every matrix op: {op name: dtype}."""
    return {op.name: matrix_dtype(w.weight_dtype if op.operand == "weight" else w.kv_dtype, w.act_dtype)
            for op in LAYER_OPS if op.unit == "matrix"}


def _matrix(w: Workload, flops, stored_bytes, stored: str, rows, launches=1.0, present=1.0):
    """A matrix op whose stationary operand occupies ``stored_bytes`` in format ``stored``."""
    cd = matrix_dtype(stored, w.act_dtype)
    elements = stored_bytes / dtype_bytes(stored)
    dequant = 0.0 if cd == stored else DEQUANT_OPS_PER_ELEMENT * elements
    return OpWork(flops=flops, vector_ops=dequant, mem_bytes=stored_bytes,
                  install_bytes=elements * dtype_bytes(cd), launches=launches, present=present,
                  rows=rows)


def layer_ops_work(w: Workload, tp, ep, kv_shards, tokens, seqs, context) -> tuple:
    """Work of each op of :data:`LAYER_OPS` per chip, for one layer processing ``tokens`` new
    tokens of ``seqs`` sequences attending to ``context`` tokens each (arguments as
    :func:`~codesign.workload.algebra.layer_cost`; ``ep`` = expert-parallel degree)."""
    lc = layer_cost(w, tp, kv_shards, tokens, seqs, context)
    moe = is_moe(w)
    wb = dtype_bytes(w.weight_dtype)
    ffn_dtype = w.expert_dtype or w.weight_dtype
    q_width = w.n_heads * w.head_dim
    out_width = w.n_heads * (w.v_head_dim if w.attention == "mla" else w.head_dim)
    out_share = out_width * w.d_model / attention_params(w)
    moe_layers = jnp.where(moe, 1.0 - dense_share(w), 0.0)
    router_params = jnp.where(moe, w.d_model * w.n_experts, 0.0)
    router_flops = 2.0 * tokens * router_params * moe_layers / tp  # layer_cost leaves them out
    router_bytes = router_params * wb * moe_layers / tp
    up_share = (2.0 if w.gated_ffn else 1.0) / (3.0 if w.gated_ffn else 2.0)
    expert_flops = lc.ffn_flops
    expert_bytes = lc.ffn_bytes - router_bytes
    ffn_width = jnp.where(moe, (w.experts_per_token + w.n_shared_experts) * expert_dim(w), w.ffn_dim)
    # Sliding-window layers attend to at most sliding_window tokens (average over the layers).
    attended = context + sliding_share(w) * (jnp.minimum(context, w.sliding_window) - context)
    # MLA decode kernels (vLLM/SGLang DeepSeek path): q_a, q_a_norm, q_b, kv_a, kv_a_norm for
    # "qkv"; the W_UK absorption bmm plus the latent attention kernel for "scores"; the W_UV
    # bmm plus o_proj for "out_proj". A shared expert adds its own gate_up and down GEMMs.
    mla = w.attention == "mla"
    qkv_launches, pair_launches = (5.0, 2.0) if mla else (1.0, 1.0)
    expert_launches = 1.0 + jnp.where(moe & (w.n_shared_experts > 0), 1.0, 0.0)
    rope_width = (w.n_heads + 1.0) * w.qk_rope_head_dim if mla else q_width + w.n_kv_heads * w.head_dim
    kv_new = tokens * kv_bytes_per_token_layer(w) / kv_shards
    norm = OpWork(vector_ops=NORM_OPS * tokens * w.d_model, rows=tokens)
    has_moe = jnp.where(moe, 1.0, 0.0)
    tp_ffn = jnp.where(moe, tp / ep, tp)
    work = {
        "norm_attn": norm,
        "qkv": _matrix(w, (1.0 - out_share) * lc.proj_flops, (1.0 - out_share) * lc.proj_bytes,
                       w.weight_dtype, tokens, qkv_launches),
        "rope": OpWork(vector_ops=ROPE_OPS * tokens * rope_width / tp, rows=tokens),
        "kv_write": OpWork(mem_bytes=kv_new, rows=tokens),
        "scores": _matrix(w, 0.5 * lc.attn_flops, 0.5 * lc.attn_bytes, w.kv_dtype, tokens, pair_launches),
        "softmax": OpWork(vector_ops=SOFTMAX_OPS * tokens * w.n_heads / tp * attended, launches=0.0, rows=tokens),
        "values": _matrix(w, 0.5 * lc.attn_flops, 0.5 * lc.attn_bytes, w.kv_dtype, tokens, launches=0.0),
        "out_proj": _matrix(w, out_share * lc.proj_flops, out_share * lc.proj_bytes, w.weight_dtype, tokens,
                            pair_launches),
        "all_reduce_attn": OpWork(net_bytes=lc.act_bytes, group=tp, rows=tokens),
        "norm_ffn": norm,
        "router": _matrix(w, router_flops, router_bytes, w.weight_dtype, tokens, has_moe, has_moe),
        "dispatch": OpWork(net_bytes=lc.act_bytes * w.experts_per_token * moe_layers,
                           group=jnp.where(moe, ep, 1.0), launches=moe_layers, present=has_moe, rows=tokens),
        "gate_up": _matrix(w, up_share * expert_flops, up_share * expert_bytes, ffn_dtype, tokens,
                           expert_launches),
        "act": OpWork(vector_ops=ACT_OPS * tokens * ffn_width / tp, rows=tokens),
        "down": _matrix(w, (1.0 - up_share) * expert_flops, (1.0 - up_share) * expert_bytes,
                        ffn_dtype, tokens, expert_launches),
        "combine": OpWork(net_bytes=lc.act_bytes * w.experts_per_token * moe_layers,
                          group=jnp.where(moe, ep, 1.0), launches=moe_layers, present=has_moe, rows=tokens),
        "all_reduce_ffn": OpWork(net_bytes=lc.act_bytes, group=tp_ffn, rows=tokens),
    }
    return tuple(work[name] for name in OP_NAMES)


def head_work(w: Workload, tp, tokens) -> OpWork:
    """The vocabulary projection (LM head) of ``tokens`` tokens, per chip."""
    p = w.vocab * w.d_model
    return _matrix(w, 2.0 * tokens * p / tp, p * dtype_bytes(w.weight_dtype) / tp, w.weight_dtype, tokens)


__all__ = ["ACT_OPS", "COLLECTIVES", "DEQUANT_OPS_PER_ELEMENT", "LAYER_OPS", "NORM_OPS", "OP_NAMES",
           "Op", "OpWork", "ROPE_OPS", "SOFTMAX_OPS", "UNIT_KINDS", "head_work",
           "layer_ops_work", "matrix_dtype", "op_dtypes"]
