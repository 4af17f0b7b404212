"""Time per decode step, time to first token and throughput, from an execution model of the
chip's structure.

A layer is the static op graph of :mod:`codesign.workload.ops`. Each op runs on a unit of
the chip (:data:`UNITS`, by the chip's ``execution``) for

.. math:: d = n\\,t_\\mathrm{floor} + \\max\\Big(\\frac{F\\,\\mathrm{pad}}{R_\\mathrm{prec}\\,\\eta_c},
          \\frac{B}{BW\\,\\eta_m}, \\frac{B_\\mathrm{install}}{R_\\mathrm{load}},
          \\frac{V}{R_\\mathrm{vector}}\\Big)

(``n`` launches of the op floor; FLOPs at the rate of the op's compute precision, padded
to the matrix unit's tile rows; bytes of the weight tier; stationary-operand bytes entering
the matrix unit; vector operations incl. dequantization). Network ops are collectives
(:mod:`codesign.model.collectives`), each with its fixed software time. The list scheduler
(:mod:`codesign.model.schedule`) gives the layer's makespan and unit occupancy:

- ``kernels`` (GPU, TPU): one unit; ops run one after another, each paying its launch floor.
- ``dataflow`` (Groq TSP, Cerebras WSE): matrix, vector, memory and network units run
  concurrently under a static schedule; each op pays its pipeline latency.

Pipelining: with ``pp`` stages and m = min(batch, pp) micro-batches, one user's token
traverses every stage; each stage serves all m micro-batches per token. Per layer the m
micro-batches take makespan + (m - 1) x the busiest unit's occupancy (they overlap on
dataflow chips; on a one-unit chip that is m x makespan). The time per output token is
max(traverse time, that stage cycle) plus the serving engine's host time per step.

Prefill is chunked (``Scenario.prefill_chunk_tokens``): chunks of one prompt flow through
the stages back to back, so the first token waits one traverse plus (chunks - 1) stage
times; each request occupies the busiest stage for chunks x stage time.
"""
import jax.numpy as jnp

from ..errors import ConfigError
from ..specs import Chip, Mapping, Scenario, System, Workload
from ..specs._pytree import pytree_dataclass
from ..workload.ops import LAYER_OPS, OP_NAMES, UNIT_KINDS, Op, OpWork, head_work, layer_ops_work, op_dtypes
from .collectives import all_reduce_s, all_to_all_s, hop_s
from .memory import context_tokens, kv_shards, microbatches, prefill_chunk_tokens, stage_layers
from .schedule import Schedule, list_schedule
from .smooth import Fidelity, sceil, smax

#: Units of each execution model, and the unit each op kind runs on.
UNITS = {
    "kernels": {"matrix": "chip", "vector": "chip", "memory": "chip", "network": "chip"},
    "dataflow": {"matrix": "matrix", "vector": "vector", "memory": "memory", "network": "network"},
}


def unit_map(chip: Chip, ops=LAYER_OPS) -> tuple[tuple, tuple]:
    """(unit names of ``chip``, unit index of every op).

    Raises:
        ConfigError: the chip's ``execution`` is unknown, or an op runs on a unit kind the
            chip lacks (naming the op, the unit and the allowed ones).
    """
    if chip.execution not in UNITS:
        raise ConfigError(f"chip.execution = {chip.execution!r}; allowed: {', '.join(UNITS)}")
    kinds = UNITS[chip.execution]
    names = tuple(dict.fromkeys(kinds.values()))
    index = []
    for op in ops:
        if op.unit not in kinds:
            raise ConfigError(f"op {op.name!r} runs on unit {op.unit!r}, which a {chip.execution!r} "
                              f"chip lacks; allowed: {', '.join(kinds)}")
        index.append(names.index(kinds[op.unit]))
    return names, tuple(index)


@pytree_dataclass
class StepTime:
    """Times of one layer for one micro-batch (per layer unless noted), and of the step."""

    roofline_s: float  # sum over ops of their roofline part
    compute_s: float  # sum over ops of the compute part alone
    memory_s: float  # sum over ops of the memory part alone
    floor_s: float  # sum over ops of their launch / pipeline floors
    comm_s: float  # sum over the collectives
    busy_s: float  # occupancy of the busiest unit
    layer_s: float  # makespan of the layer's schedule
    hop_s: float  # per pipeline hop
    head_s: float  # LM head once per step
    traverse_s: float  # one micro-batch through all stages


def _floor_s(chip: Chip):
    # Dataflow floors are pipeline cycles (they scale with the clock); kernel launches are not.
    return chip.op_floor_s / (chip.clock_ratio if chip.execution == "dataflow" else 1.0)


def _zero(x):
    return isinstance(x, float) and x == 0.0  # a Python 0: the op has none of it (no trace)


def _rate(x, rate):
    return 0.0 if _zero(x) else x / rate


def _tile_pad(fid: Fidelity, chip: Chip, rows):
    """FLOP multiplier of padding ``rows`` up to whole matrix tiles (1 when smooth)."""
    rows = jnp.maximum(rows, 1e-9)
    pad = jnp.maximum(sceil(fid, rows / chip.matrix_tile_rows) * chip.matrix_tile_rows / rows, 1.0)
    # One-row instructions pad nothing (a fractional average micro-batch is not a tile).
    return jnp.where(chip.matrix_tile_rows > 1.0, pad, 1.0)


def _max(fid, *xs):
    xs = [x for x in xs if not _zero(x)]
    return 0.0 if not xs else xs[0] if len(xs) == 1 else smax(fid, *xs)


def _compute_parts(fid: Fidelity, chip: Chip, op: Op, x: OpWork, dtype: str, pad):
    """(compute, memory, other) seconds of a compute op, before the floor."""
    vector = _rate(x.vector_ops, chip.vector_ops_per_s * chip.clock_ratio)
    memory = _rate(x.mem_bytes, chip.memory_bw_bytes_per_s * chip.memory_efficiency)
    if op.unit != "matrix":
        return (vector if op.unit == "vector" else 0.0), memory, 0.0
    compute = x.flops * pad / (chip.flops_per_s(dtype) * chip.compute_efficiency)
    install = _rate(x.install_bytes, chip.matrix_load_bytes_per_s * chip.clock_ratio)
    return compute, memory, _max(fid, install, vector)


def _network_s(fid: Fidelity, chip: Chip, system: System, op: Op, x: OpWork):
    if op.collective == "all_reduce":
        return x.launches * all_reduce_s(fid, chip, system, x.net_bytes, x.group)
    return x.launches * all_to_all_s(fid, chip, system, x.net_bytes, x.group)


def op_durations(fid: Fidelity, chip: Chip, system: System, w: Workload, work, ops=LAYER_OPS):
    """(durations, parts) of every op: parts[i] = (compute, memory, floor, comm) seconds."""
    dtypes = op_dtypes(w)
    floor = _floor_s(chip)
    kernels = chip.execution == "kernels"
    pad = _tile_pad(fid, chip, work[0].rows)  # every op of a step carries the same rows
    durations, parts = [], []
    for op, x in zip(ops, work):
        if op.unit == "network":
            t = _network_s(fid, chip, system, op, x)
            durations.append(t)
            parts.append((0.0, 0.0, 0.0, t))
            continue
        compute, memory, other = _compute_parts(fid, chip, op, x, dtypes.get(op.name, w.act_dtype), pad)
        f = floor * (x.launches if kernels else x.present)
        durations.append(f + _max(fid, compute, memory, other))
        parts.append((compute, memory, f, 0.0))
    return durations, parts


def layer_schedule(fid: Fidelity, chip: Chip, system: System, w: Workload, m: Mapping,
                   tokens, seqs, context, critical: bool = False) -> tuple[Schedule, list, list, tuple]:
    """Schedule of one layer: (Schedule, op durations, op parts, op work) for a step of
    ``tokens`` new tokens of ``seqs`` sequences attending to ``context`` tokens each."""
    work = layer_ops_work(w, m.tp, m.ep, kv_shards(fid, w, m.tp), tokens, seqs, context)
    durations, parts = op_durations(fid, chip, system, w, work)
    names, units = unit_map(chip)
    sched = list_schedule(fid, durations, tuple(op.deps for op in LAYER_OPS), units, len(names), critical)
    return sched, durations, parts, work


def _head_s(fid, chip, w, m, seqs):
    x = head_work(w, m.tp, seqs)
    head_op = Op("lm_head", "matrix", operand="weight")
    compute, memory, other = _compute_parts(fid, chip, head_op, x, op_dtypes(w)["qkv"], _tile_pad(fid, chip, x.rows))
    return _floor_s(chip) + _max(fid, compute, memory, other)


def step_time(fid: Fidelity, chip: Chip, system: System, w: Workload, m: Mapping,
              tokens, seqs, context) -> StepTime:
    """Times for a step in which each micro-batch carries ``tokens`` new tokens of ``seqs``
    sequences attending to ``context`` tokens each."""
    sched, durations, parts, work = layer_schedule(fid, chip, system, w, m, tokens, seqs, context)
    total = lambda k: sum(p[k] for p in parts)
    act_bytes = work[OP_NAMES.index("all_reduce_attn")].net_bytes  # the activations of the step
    hop = hop_s(fid, chip, system, act_bytes, m.tp)
    head = _head_s(fid, chip, w, m, seqs)
    layer = sched.makespan
    roofline = sum(durations) - total(2)
    return StepTime(roofline_s=roofline, compute_s=total(0), memory_s=total(1), floor_s=total(2),
                    comm_s=total(3), busy_s=smax(fid, *sched.busy), layer_s=layer, hop_s=hop,
                    head_s=head, traverse_s=w.layers * layer + (m.pp - 1.0) * hop + head)


def host_step_s(system: System, seqs):
    """Serving-engine host time per step with ``seqs`` sequences in it."""
    return system.host_step_s + system.host_step_s_per_seq * seqs


def stage_cycle_s(fid: Fidelity, chip: Chip, w: Workload, m: Mapping, st: StepTime, mb):
    """Time the busiest stage needs for ``mb`` micro-batches of one step: per layer the
    makespan of one plus (mb - 1) x the busiest unit's occupancy."""
    return stage_layers(fid, chip, w, m.pp) * (st.layer_s + (mb - 1.0) * st.busy_s)


def decode_time(fid: Fidelity, chip: Chip, system: System, w: Workload, m: Mapping, sc: Scenario):
    """(seconds per output token per user, StepTime of one micro-batch)."""
    mb = microbatches(fid, m)
    b = m.batch / mb
    avg_context = sc.prompt_tokens + 0.5 * sc.output_tokens
    st = step_time(fid, chip, system, w, m, tokens=b, seqs=b, context=avg_context)
    cycle = stage_cycle_s(fid, chip, w, m, st, mb)
    return smax(fid, st.traverse_s, cycle) + host_step_s(system, m.batch), st


def prefill_chunks(fid: Fidelity, chip: Chip, w: Workload, m: Mapping, sc: Scenario):
    """(tokens per chunk, chunks per prompt) of chunked prefill
    (:func:`~codesign.model.memory.prefill_chunk_tokens`)."""
    chunk = prefill_chunk_tokens(fid, chip, w, m, sc)
    return chunk, sceil(fid, sc.prompt_tokens / chunk)


def prefill_time(fid: Fidelity, chip: Chip, system: System, w: Workload, m: Mapping, sc: Scenario):
    """(time to first token of one request on an idle system, occupancy of the busiest stage
    per request when prefills are pipelined back to back, StepTime of one chunk)."""
    chunk, n = prefill_chunks(fid, chip, w, m, sc)
    st = step_time(fid, chip, system, w, m, tokens=chunk, seqs=1.0,
                   context=0.5 * sc.prompt_tokens)  # causal: on average half the prompt
    stage = stage_cycle_s(fid, chip, w, m, st, 1.0)
    ttft = st.traverse_s + (n - 1.0) * stage + host_step_s(system, 1.0)
    return ttft, n * stage, st


def throughput_tokens_per_s(m: Mapping, sc: Scenario, decode_s, prefill_occupancy_s):
    """Output tokens/s of all replicas with continuous batching: each sequence costs
    ``output_tokens`` decode steps (shared by the batch) and one prefill."""
    per_replica = m.batch * sc.output_tokens / (sc.output_tokens * decode_s + m.batch * prefill_occupancy_s)
    return m.dp * per_replica


def decode_breakdown(fid: Fidelity, chip: Chip, system: System, w: Workload, m: Mapping,
                     sc: Scenario) -> dict:
    """Per op of one decode layer (one micro-batch): ``{op: {"duration_s", "start_s",
    "critical"}}``, plus ``"units"``: ``{unit: busy seconds}``. For reports (exact mode)."""
    mb = microbatches(fid, m)
    b = m.batch / mb
    sched, durations, _, _ = layer_schedule(fid, chip, system, w, m, b, b, sc.prompt_tokens + 0.5 * sc.output_tokens,
                                            critical=True)
    names, _ = unit_map(chip)
    out = {name: {"duration_s": d, "start_s": s, "critical": c}
           for name, d, s, c in zip(OP_NAMES, durations, sched.start, sched.critical)}
    out["units"] = dict(zip(names, sched.busy))
    return out


__all__ = ["StepTime", "UNITS", "UNIT_KINDS", "context_tokens", "decode_breakdown", "decode_time",
           "host_step_s", "layer_schedule", "op_durations", "prefill_chunks", "prefill_time",
           "stage_cycle_s", "step_time", "throughput_tokens_per_s", "unit_map"]
