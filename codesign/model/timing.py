"""Time per decode step, time to first token and throughput.

Per op: t = latency floor + max(FLOPs / (peak x eff), bytes / (bandwidth x eff)) — a
roofline per op block, plus ``op_pipeline_cycles / clock`` for each dependent step in the
layer's chain, plus two tensor-parallel all-reduces per layer (attention and FFN outputs;
for a MoE the FFN one becomes a dispatch/combine all-to-all over ``ep`` and an all-reduce
over tp/ep), plus one hop per pipeline stage.

Pipelining: with ``pp`` stages and m = min(batch, pp) micro-batches, one user's token must
traverse every stage, and each stage serves all m micro-batches per token, so the time per
output token is max(traverse time, m x stage time) and the system emits ``batch`` tokens in
that time.
"""
import jax.numpy as jnp

from ..specs import Chip, Mapping, Scenario, System, Workload
from ..specs._pytree import pytree_dataclass
from ..workload import DEPENDENT_OPS_PER_LAYER, LayerCost, layer_cost, lm_head_cost
from .collectives import all_reduce_s, all_to_all_s, hop_s
from .memory import context_tokens, kv_shards, microbatches, stage_layers
from .smooth import Fidelity, smax


@pytree_dataclass
class StepTime:
    """Times of one layer for one micro-batch, and of the whole step."""

    roofline_s: float  # per layer: sum over op blocks of max(compute, memory)
    compute_s: float  # per layer: compute part alone
    memory_s: float  # per layer: memory part alone
    floor_s: float  # per layer: dependent-op latency floor
    comm_s: float  # per layer: collectives
    hop_s: float  # per pipeline hop
    head_s: float  # LM head once per token
    layer_s: float  # roofline + floor + comm
    traverse_s: float  # one token through all stages


def op_latency_s(chip: Chip):
    return chip.op_pipeline_cycles / chip.clock_hz


def _block(fid, chip, flops, n_bytes, flops_per_s):
    compute = flops / (flops_per_s * chip.compute_efficiency)
    memory = n_bytes / (chip.memory_bw_bytes_per_s * chip.memory_efficiency)
    return smax(fid, compute, memory), compute, memory


def _comm_s(fid, chip, system, w: Workload, m: Mapping, lc: LayerCost, tokens):
    dense = 2.0 * all_reduce_s(fid, chip, system, lc.act_bytes, m.tp)
    dispatch = lc.act_bytes * w.experts_per_token  # each token goes to k experts
    moe = (all_reduce_s(fid, chip, system, lc.act_bytes, m.tp)
           + 2.0 * all_to_all_s(fid, chip, system, dispatch, m.ep)
           + all_reduce_s(fid, chip, system, lc.act_bytes, m.tp / m.ep))
    return jnp.where(w.n_experts > 0, moe, dense)


def step_time(fid: Fidelity, chip: Chip, system: System, w: Workload, m: Mapping,
              tokens, seqs, context) -> StepTime:
    """Times for a step in which each micro-batch carries ``tokens`` new tokens of ``seqs``
    sequences attending to ``context`` tokens each."""
    lc = layer_cost(w, m.tp, kv_shards(fid, w, m.tp), tokens, seqs, context)
    wrate, kvrate = chip.flops_per_s(w.weight_dtype), chip.flops_per_s(w.kv_dtype)
    blocks = [_block(fid, chip, lc.proj_flops, lc.proj_bytes, wrate),
              _block(fid, chip, lc.attn_flops, lc.attn_bytes, kvrate),
              _block(fid, chip, lc.ffn_flops, lc.ffn_bytes, wrate)]
    roofline = sum(b[0] for b in blocks)
    floor = len(DEPENDENT_OPS_PER_LAYER) * op_latency_s(chip)
    comm = _comm_s(fid, chip, system, w, m, lc, tokens)
    layer = roofline + floor + comm
    head_flops, head_bytes = lm_head_cost(w, m.tp, seqs)
    head = _block(fid, chip, head_flops, head_bytes, wrate)[0] + op_latency_s(chip)
    hop = hop_s(fid, chip, system, lc.act_bytes, m.tp)
    traverse = w.layers * layer + (m.pp - 1.0) * hop + head
    return StepTime(roofline_s=roofline, compute_s=sum(b[1] for b in blocks),
                    memory_s=sum(b[2] for b in blocks), floor_s=floor, comm_s=comm, hop_s=hop,
                    head_s=head, layer_s=layer, traverse_s=traverse)


def decode_time(fid: Fidelity, chip: Chip, system: System, w: Workload, m: Mapping, sc: Scenario):
    """(seconds per output token per user, StepTime of one micro-batch)."""
    mb = microbatches(fid, m)
    b = m.batch / mb
    avg_context = sc.prompt_tokens + 0.5 * sc.output_tokens
    st = step_time(fid, chip, system, w, m, tokens=b, seqs=b, context=avg_context)
    cycle = mb * stage_layers(fid, chip, w, m.pp) * st.layer_s
    return smax(fid, st.traverse_s, cycle), st


def prefill_time(fid: Fidelity, chip: Chip, system: System, w: Workload, m: Mapping, sc: Scenario):
    """(time to first token of one request on an idle system, occupancy of the busiest stage
    per request when prefills are pipelined back to back)."""
    st = step_time(fid, chip, system, w, m, tokens=sc.prompt_tokens, seqs=1.0,
                   context=0.5 * sc.prompt_tokens)  # causal: on average half the prompt
    return st.traverse_s, stage_layers(fid, chip, w, m.pp) * st.layer_s, st


def throughput_tokens_per_s(m: Mapping, sc: Scenario, decode_s, prefill_occupancy_s):
    """Output tokens/s of all replicas with continuous batching: each sequence costs
    ``output_tokens`` decode steps (shared by the batch) and one prefill."""
    per_replica = m.batch * sc.output_tokens / (sc.output_tokens * decode_s + m.batch * prefill_occupancy_s)
    return m.dp * per_replica


__all__ = ["StepTime", "decode_time", "prefill_time", "step_time", "throughput_tokens_per_s",
           "op_latency_s", "context_tokens"]
