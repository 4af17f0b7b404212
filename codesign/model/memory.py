"""Memory placement and fit per chip: weights, KV cache and activations in the chip's
weight tier (SRAM for SRAM-only chips, HBM otherwise); minimum chip count; largest batch."""
import jax.numpy as jnp

from ..specs import Chip, Mapping, Scenario, Workload, dtype_bytes
from ..specs._pytree import pytree_dataclass
from ..workload import embedding_params, kv_bytes_per_sequence, layer_weight_bytes, total_weight_bytes
from .smooth import Fidelity, positive_part, sceil, smin

@pytree_dataclass
class MemoryUse:
    """Per-chip bytes in the weight tier and the capacity figures derived from them."""

    weight_bytes: float
    kv_bytes: float
    act_bytes: float
    total_bytes: float
    capacity_bytes: float
    overflow_bytes: float  # 0 when it fits
    fits: float  # 1.0 or 0.0
    min_chips: float  # fewest chips for weights + KV cache at this batch + activations
    min_chips_weights: float  # fewest chips for the weights alone
    max_batch: float  # largest batch per replica whose KV cache fits at this mapping


def context_tokens(sc: Scenario):
    """Tokens a sequence holds in the KV cache at the end of generation."""
    return sc.prompt_tokens + sc.output_tokens


def stage_layers(fid: Fidelity, chip: Chip, w: Workload, pp):
    """Layers held (and run) by the largest pipeline stage: L/pp when stages are cut at op
    granularity, ceil(L/pp) when cut between layers."""
    per = w.layers / pp
    return per if chip.pp_split == "op" else sceil(fid, per)


def kv_shards(fid: Fidelity, w: Workload, tp):
    """Ways the KV cache is split: by KV head, so beyond n_kv_heads it is replicated."""
    return smin(fid, tp, w.n_kv_heads)


def microbatches(fid: Fidelity, m: Mapping):
    """Micro-batches in flight: min(batch, pp)."""
    return smin(fid, m.batch, m.pp)


def memory_use(fid: Fidelity, chip: Chip, w: Workload, m: Mapping, sc: Scenario) -> MemoryUse:
    wb, ab = dtype_bytes(w.weight_dtype), dtype_bytes(w.act_dtype)
    lps = stage_layers(fid, chip, w, m.pp)
    # Embedding + LM head: spread over the stages when cut at op granularity; otherwise the
    # first and the last stage each hold one vocabulary matrix.
    emb_stages = m.pp if chip.pp_split == "op" else smin(fid, m.pp, 2.0)
    weights = (lps * layer_weight_bytes(w) + embedding_params(w) * wb / emb_stages) / m.tp
    kv_per_seq = kv_bytes_per_sequence(w, context_tokens(sc)) / w.layers * lps / kv_shards(fid, w, m.tp)
    kv = m.batch * kv_per_seq
    # Working set of one step: a decode micro-batch or one prefill chunk.
    tokens = jnp.maximum(m.batch / microbatches(fid, m), smin(fid, sc.prompt_tokens, sc.prefill_chunk_tokens))
    ffn_width = (2.0 if w.gated_ffn else 1.0) * w.ffn_dim * jnp.where(w.n_experts > 0, w.experts_per_token, 1.0)
    act = tokens * (4.0 * w.d_model + ffn_width / m.tp) * ab
    total = weights + kv + act
    cap = chip.memory_bytes
    overflow = positive_part(total - cap)
    replica_bytes = total_weight_bytes(w) + m.batch * kv_bytes_per_sequence(w, context_tokens(sc))
    free = cap - weights - act
    return MemoryUse(
        weight_bytes=weights, kv_bytes=kv, act_bytes=act, total_bytes=total, capacity_bytes=cap,
        overflow_bytes=overflow, fits=jnp.where(overflow > 0, 0.0, 1.0),
        # Floor on the usable bytes keeps the value and gradient finite when activations alone
        # overflow a chip (then no chip count fits, and min_chips is huge).
        min_chips=m.dp * sceil(fid, replica_bytes / jnp.maximum(cap - act, 1e-6 * cap)),
        min_chips_weights=m.dp * sceil(fid, total_weight_bytes(w) / cap),
        max_batch=positive_part(_floor(fid, free / kv_per_seq)),
    )


def _floor(fid: Fidelity, x):
    return x if fid.smooth else jnp.floor(x * (1.0 + 1e-6))
