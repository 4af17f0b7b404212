"""The full cost model of one design point: chip, system, workload, mapping, scenario ->
Metrics. Batch it with ``jax.vmap``; differentiate it with ``jax.grad``."""
import dataclasses

import jax
import jax.numpy as jnp

from ..specs import Chip, Mapping, Scenario, System, Workload
from ..specs._pytree import numeric_fields, pytree_dataclass
from ..workload import total_params
from . import cost
from .energy import dynamic_j, idle_power_w, joules_per_token_by_boundary, power_capped_chip
from .memory import memory_use, microbatches
from .smooth import EXACT, Fidelity, sceil
from .timing import decode_time, host_step_s, prefill_time, throughput_tokens_per_s


@pytree_dataclass
class Metrics:
    """Everything the model reports for one design (SI units; all leaves are floats)."""

    chips: float
    nodes: float
    tp: float
    pp: float
    ep: float
    dp: float
    batch: float
    params: float
    fits: float
    min_chips: float
    min_chips_weights: float
    max_batch: float
    memory_per_chip_bytes: float
    weight_bytes_per_chip: float
    kv_bytes_per_chip: float
    act_bytes_per_chip: float
    memory_capacity_bytes: float
    memory_overflow_bytes: float
    decode_s_per_token: float
    decode_tokens_per_s_per_user: float
    ttft_s: float
    throughput_tokens_per_s: float
    decode_compute_s: float  # per token, summed over layers (one micro-batch)
    decode_memory_s: float
    decode_floor_s: float  # per token: launch / pipeline floors of the layers' ops (one micro-batch)
    decode_comm_s: float  # per token: collectives of the layers (one micro-batch)
    decode_hops_s: float
    decode_host_s: float  # per token: serving-engine host time per step
    power_w: float
    idle_power_w: float
    chip_power_w: float  # mean power of one accelerator serving (chip boundary; <= its power cap)
    clock_hz: float  # core clock served at: the configured one, or lower under the power cap
    joules_per_token: float  # node boundary (IT power incl. hosts) = joules_per_token_node
    joules_per_token_chip: float  # accelerators only (static + dynamic): what NVML reads
    joules_per_token_node: float  # accelerators + host share of their nodes
    joules_per_token_facility: float  # node x PUE
    die_area_mm2: float
    die_yield: float
    die_cost_usd: float
    chip_price_usd: float
    capex_usd: float
    opex_usd_per_year: float
    tco_usd: float
    usd_per_million_tokens: float

    def to_dict(self) -> dict:
        return {k: float(getattr(self, k)) for k in numeric_fields(self)}


METRIC_NAMES = numeric_fields(Metrics)


def evaluate(chip: Chip, system: System, workload: Workload, mapping: Mapping,
             scenario: Scenario, fidelity: Fidelity = EXACT) -> Metrics:
    """Evaluate one design. Pure and jit/vmap/grad-friendly; ``fidelity`` must be static."""
    chip, system, workload, mapping, scenario = jax.tree.map(
        jnp.asarray, (chip, system, workload, mapping, scenario))
    fid, w, m, sc = fidelity, workload, mapping, scenario

    def tokens_per_s_at(c):  # the timing model at chip c (its clock), for the power cap
        return throughput_tokens_per_s(m, sc, decode_time(fid, c, system, w, m, sc)[0],
                                       prefill_time(fid, c, system, w, m, sc)[1])

    # The core clock drops to meet chip.power_cap_w; timing and energy below see that clock.
    chip = power_capped_chip(fid, chip, w, m, sc, tokens_per_s_at)
    mem = memory_use(fid, chip, w, m, sc)
    decode_s, st = decode_time(fid, chip, system, w, m, sc)
    ttft, prefill_occupancy, _ = prefill_time(fid, chip, system, w, m, sc)
    tokens_per_s = throughput_tokens_per_s(m, sc, decode_s, prefill_occupancy)

    chips = m.chips
    nodes = sceil(fid, chips / system.chips_per_node)
    # Host power and node cost are charged per chip used (a 4-GPU replica on an 8-GPU node
    # shares the host with another replica); ``nodes`` reports the whole nodes occupied.
    node_share = chips / system.chips_per_node
    idle = idle_power_w(chip, system, chips, node_share)
    mb = microbatches(fid, m)
    b = m.batch / mb
    decode_dyn = mb * dynamic_j(fid, chip, w, m, b, b, sc.prompt_tokens + 0.5 * sc.output_tokens)
    prefill_dyn = dynamic_j(fid, chip, w, m, sc.prompt_tokens, 1.0, 0.5 * sc.prompt_tokens)
    energy = joules_per_token_by_boundary(
        chip, system, decode_dyn / m.batch + prefill_dyn / sc.output_tokens, chips, node_share, tokens_per_s)
    joules = energy["node"]
    power = joules * tokens_per_s
    avg_power = idle + system.utilization * (power - idle)

    area = cost.die_area_mm2(chip)
    capex = cost.capex_usd(chip, system, chips, node_share)
    opex = cost.opex_usd_per_year(system, avg_power)
    tco = cost.tco_usd(system, capex, opex)
    return Metrics(
        chips=chips, nodes=nodes, tp=m.tp, pp=m.pp, ep=m.ep, dp=m.dp, batch=m.batch,
        params=total_params(w), fits=mem.fits, min_chips=mem.min_chips,
        min_chips_weights=mem.min_chips_weights, max_batch=mem.max_batch,
        memory_per_chip_bytes=mem.total_bytes, weight_bytes_per_chip=mem.weight_bytes,
        kv_bytes_per_chip=mem.kv_bytes, act_bytes_per_chip=mem.act_bytes,
        memory_capacity_bytes=mem.capacity_bytes, memory_overflow_bytes=mem.overflow_bytes,
        decode_s_per_token=decode_s, decode_tokens_per_s_per_user=1.0 / decode_s, ttft_s=ttft,
        throughput_tokens_per_s=tokens_per_s,
        decode_compute_s=w.layers * st.compute_s, decode_memory_s=w.layers * st.memory_s,
        decode_floor_s=w.layers * st.floor_s, decode_comm_s=w.layers * st.comm_s,
        decode_hops_s=(m.pp - 1.0) * st.hop_s, decode_host_s=host_step_s(system, m.batch),
        power_w=power, idle_power_w=idle, joules_per_token=joules,
        chip_power_w=energy["chip"] * tokens_per_s / chips, clock_hz=chip.clock_hz,
        joules_per_token_chip=energy["chip"], joules_per_token_node=energy["node"],
        joules_per_token_facility=energy["facility"],
        die_area_mm2=area, die_yield=cost.die_yield(chip, area), die_cost_usd=cost.die_cost_usd(chip),
        chip_price_usd=cost.chip_price_usd(chip), capex_usd=capex, opex_usd_per_year=opex,
        tco_usd=tco, usd_per_million_tokens=cost.usd_per_million_tokens(system, tco, tokens_per_s),
    )


def anonymous(specs):
    """Specs with their ``name`` blanked: names select no code path, so designs that differ
    only in preset or model name share one compiled program."""
    named = lambda s: "name" in {f.name for f in dataclasses.fields(s)}  # noqa: E731
    return tuple(dataclasses.replace(s, name="") if named(s) else s for s in specs)


_evaluate_compiled = jax.jit(evaluate, static_argnames="fidelity")


def evaluate_jit(chip: Chip, system: System, workload: Workload, mapping: Mapping,
                 scenario: Scenario, fidelity: Fidelity = EXACT) -> Metrics:
    """Compiled :func:`evaluate`; recompiles only for a new static structure (dtypes, memory
    kind, execution, fidelity), never for new numbers nor for another preset's name."""
    return _evaluate_compiled(*anonymous((chip, system, workload, mapping, scenario)), fidelity=fidelity)


evaluate_jit._cache_size = _evaluate_compiled._cache_size
