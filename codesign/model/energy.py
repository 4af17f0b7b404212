r"""Energy per token and power, at a stated boundary.

Dynamic energy = FLOPs x pJ/FLOP (16-bit figure scaled by operand width) + bytes read from
the weight tier x pJ/byte + bytes sent over links x pJ/byte. Static energy = static power of
every chip plus host power of every node, for as long as the work takes.

Three boundaries (what a meter around that part of the deployment reads), per output token:

.. math:: E_\mathrm{chip} = \frac{E_\mathrm{dyn}}{n} + \frac{N_\mathrm{chips} P_\mathrm{static}}{X},
          \quad E_\mathrm{node} = E_\mathrm{chip} + \frac{N_\mathrm{nodes} P_\mathrm{host}}{X},
          \quad E_\mathrm{facility} = \mathrm{PUE}\, E_\mathrm{node},

with X the throughput (tokens/s) and N_nodes the node share used (chips / chips per node).
*chip*: accelerators only (what NVML / Zeus reads, e.g. ML.ENERGY); *node*: IT power with
the hosts (CPUs, NICs, fans; MLPerf Power at the wall of the servers); *facility*: node x PUE
(cooling and power delivery). ``joules_per_token`` is the node figure.
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


#: Energy boundaries, innermost first (see the module docstring).
BOUNDARIES = ("chip", "node", "facility")


def joules_per_token_by_boundary(chip: Chip, system: System, dynamic_j_per_token, chips, nodes,
                                 tokens_per_s) -> dict:
    """``{boundary: joules per output token}`` for :data:`BOUNDARIES`.

    Args:
        dynamic_j_per_token: dynamic energy of the accelerators per output token (J).
        chips: accelerators of the deployment; nodes: node share they occupy (hosts charged).
        tokens_per_s: system throughput (output tokens/s) over which static power is spread.
    """
    chip_j = dynamic_j_per_token + chips * chip.static_power_w / tokens_per_s
    node_j = dynamic_j_per_token + idle_power_w(chip, system, chips, nodes) / tokens_per_s
    return {"chip": chip_j, "node": node_j, "facility": system.pue * node_j}


__all__ = ["BOUNDARIES", "dynamic_j", "idle_power_w", "joules_per_token_by_boundary", "dtype_bytes"]
