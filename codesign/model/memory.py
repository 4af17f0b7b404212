"""Memory placement and fit per chip: weights, KV cache and activations in the chip's
weight tier (SRAM for SRAM-only chips, HBM otherwise); minimum chip count; largest batch.

KV cache is reserved at the average occupancy of continuous batching, not at the final
context: a sequence holds prompt + output/2 tokens on average over its life (paged KV
allocators such as vLLM's hold only the blocks written so far). Engines on kernel-launching
chips use ``ENGINE_MEMORY_FRACTION`` of the memory (the rest is their headroom).

The activation working set is one decode micro-batch or one prefill chunk. On dataflow chips
the compiler chooses the chunk within the SRAM left after weights and KV cache
(:func:`prefill_chunk_tokens`), so chunked prefill never raises their chip count.
"""
import jax.numpy as jnp

from ..specs import Chip, Mapping, Scenario, Workload, dtype_bytes
from ..specs._pytree import pytree_dataclass
from ..workload import (embedding_params, kv_bytes_per_sequence, layer_weight_bytes,
                        total_weight_bytes)
from .smooth import Fidelity, positive_part, sceil, smin

#: Fraction of a GPU's memory the serving engine uses by default (the rest is headroom for
#: the CUDA context, allocator fragmentation and peaks): vLLM ``gpu_memory_utilization``
#: 0.9 and TensorRT-LLM ``free_gpu_memory_fraction`` 0.9 (engine documentation) [P] H.
#: Dataflow chips place every byte at compile time: 1.0.
ENGINE_MEMORY_FRACTION = 0.9

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


def reserved_tokens(sc: Scenario):
    """Tokens of KV cache reserved per sequence: the average occupancy prompt + output/2."""
    return sc.prompt_tokens + 0.5 * sc.output_tokens


def usable_bytes(chip: Chip):
    """Memory of the weight tier the deployment may fill (:data:`ENGINE_MEMORY_FRACTION`)."""
    return chip.memory_bytes * (ENGINE_MEMORY_FRACTION if chip.execution == "kernels" else 1.0)


def _act_bytes_per_token(w: Workload, m: Mapping):
    ffn_width = (2.0 if w.gated_ffn else 1.0) * w.ffn_dim * jnp.where(w.n_experts > 0, w.experts_per_token, 1.0)
    return (4.0 * w.d_model + ffn_width / m.tp) * dtype_bytes(w.act_dtype)


def prefill_chunk_tokens(fid: Fidelity, chip: Chip, w: Workload, m: Mapping, sc: Scenario):
    """Tokens per prefill chunk: min(prompt, ``prefill_chunk_tokens``); on dataflow chips also
    at most what the SRAM left after weights and KV cache holds (at least one token)."""
    chunk = smin(fid, sc.prompt_tokens, sc.prefill_chunk_tokens)
    if chip.execution != "dataflow":
        return chunk
    mem = _resident(fid, chip, w, m, sc)
    room = (usable_bytes(chip) - mem[0] - mem[1]) / _act_bytes_per_token(w, m)
    return smin(fid, chunk, jnp.maximum(room, 1.0))


def _resident(fid, chip, w, m, sc):
    """(weight bytes, KV bytes, KV bytes per sequence) per chip."""
    lps = stage_layers(fid, chip, w, m.pp)
    # Embedding + LM head: spread over the stages when cut at op granularity; otherwise the
    # first and the last stage each hold one vocabulary matrix.
    emb_stages = m.pp if chip.pp_split == "op" else smin(fid, m.pp, 2.0)
    weights = (lps * layer_weight_bytes(w) + embedding_params(w) * dtype_bytes(w.weight_dtype) / emb_stages) / m.tp
    kv_per_seq = kv_bytes_per_sequence(w, reserved_tokens(sc)) / w.layers * lps / kv_shards(fid, w, m.tp)
    return weights, m.batch * kv_per_seq, kv_per_seq


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
    weights, kv, kv_per_seq = _resident(fid, chip, w, m, sc)
    # Working set of one step: a decode micro-batch or one prefill chunk.
    decode_tokens = m.batch / microbatches(fid, m)
    act = jnp.maximum(decode_tokens, prefill_chunk_tokens(fid, chip, w, m, sc)) * _act_bytes_per_token(w, m)
    # The fewest chips: a dataflow compiler shrinks the prefill chunk to what fits.
    act_min = decode_tokens * _act_bytes_per_token(w, m) if chip.execution == "dataflow" else act
    total = weights + kv + act
    cap = usable_bytes(chip)
    overflow = positive_part(total - cap)
    replica_bytes = total_weight_bytes(w) + m.batch * kv_bytes_per_sequence(w, reserved_tokens(sc))
    free = cap - weights - act_min
    return MemoryUse(
        weight_bytes=weights, kv_bytes=kv, act_bytes=act, total_bytes=total, capacity_bytes=cap,
        overflow_bytes=overflow, fits=jnp.where(overflow > 0, 0.0, 1.0),
        # Floor on the usable bytes keeps the value and gradient finite when activations alone
        # overflow a chip (then no chip count fits, and min_chips is huge).
        min_chips=m.dp * sceil(fid, replica_bytes / jnp.maximum(cap - act_min, 1e-6 * cap)),
        min_chips_weights=m.dp * sceil(fid, total_weight_bytes(w) / cap),
        max_batch=positive_part(_floor(fid, free / kv_per_seq)),
    )


def _floor(fid: Fidelity, x):
    return x if fid.smooth else jnp.floor(x * (1.0 + 1e-6))
