"""Energy per token and power.

Dynamic energy = FLOPs x pJ/FLOP (16-bit figure scaled by operand width) + bytes read from
the weight tier x pJ/byte + bytes sent over links x pJ/byte. Static energy = static power of
every chip plus host power of every node, for as long as the work takes. Facility overhead
(PUE) is applied to the electricity bill, not to joules_per_token (IT energy).
"""
from ..specs import Chip, Mapping, System, Workload, dtype_bytes
from ..specs.dtypes import dtype_bits_ratio
from ..workload import layer_cost, lm_head_cost
from .collectives import link_bytes_all_reduce
from .memory import kv_shards
from .smooth import Fidelity


def dynamic_j(fid: Fidelity, chip: Chip, w: Workload, m: Mapping, tokens, seqs, context):
    """Dynamic joules of one micro-batch step through all layers of one replica."""
    lc = layer_cost(w, m.tp, kv_shards(fid, w, m.tp), tokens, seqs, context)
    head_flops, head_bytes = lm_head_cost(w, m.tp, seqs)
    chips = m.tp  # every chip of a stage does the per-chip work of that stage's layers
    flops = chips * (w.layers * (lc.proj_flops + lc.ffn_flops) + head_flops)
    attn_flops = chips * w.layers * lc.attn_flops
    mem_bytes = chips * (w.layers * (lc.proj_bytes + lc.attn_bytes + lc.ffn_bytes) + head_bytes)
    link = (chips * w.layers * 2.0 * link_bytes_all_reduce(lc.act_bytes, m.tp)
            + (m.pp - 1.0) * lc.act_bytes)
    pj = 1e-12
    pj_per_flop = chip.pj_per_flop_16bit * chip.voltage_energy_factor
    return (flops * pj_per_flop * dtype_bits_ratio(w.weight_dtype) * pj
            + attn_flops * pj_per_flop * dtype_bits_ratio(w.kv_dtype) * pj
            + mem_bytes * chip.memory_pj_per_byte * pj
            + link * chip.link_pj_per_byte * pj)


def idle_power_w(chip: Chip, system: System, chips, nodes):
    """Power drawn by a powered, idle deployment: chip static power plus hosts."""
    return chips * chip.static_power_w + nodes * system.host_power_w


__all__ = ["dynamic_j", "idle_power_w", "dtype_bytes"]
