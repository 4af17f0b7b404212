"""Alpha-beta models of the collectives in tensor, expert and pipeline parallelism.

A message of n bytes over one link costs alpha + n / beta (alpha = per-hop latency, beta =
bandwidth). For an all-reduce over p chips, both the ring and the one-shot (all-to-all or
switch) algorithms move 2 (p-1)/p x n bytes per chip; they differ in the number of
dependent steps: 2 (p-1) for a ring, 2 for one-shot, and for a D-dimensional torus of side
p^(1/D) a ring per dimension, 2 D (p^(1/D) - 1) (D = 2: 4 (sqrt(p) - 1); D = 1 is the ring).
(Thakur, Rabenseifner & Gropp, IJHPCA 2005.) Through a switch (NVSwitch with NVLink SHARP)
the latency grows with the group: 2 log2(p) steps (a reduction tree through the switch;
NVIDIA/nccl#1259 measures NVLS latency rising with the GPU count from ~6 us at 2 GPUs).

Every collective and pipeline hop also pays the chip's fixed software time
``collective_base_s`` (kernel launch and flag handshake of NCCL/RCCL; 0 on a
software-scheduled network): small-message all-reduces cost ~6 us on 2 H100 with NVLS
(nccl#1259) and 10-34 us for 2-8 A100 in a ring (nccl-tests#123: 6 us + ~2 us per step).
"""
import jax.numpy as jnp

from ..specs import TORUS_DIMS, Chip, System
from .smooth import Fidelity, smin


def _steps(p, topology: str):
    if topology == "all_to_all":
        return 2.0 * jnp.clip(p - 1.0, 0.0, 1.0)  # 0 for p = 1
    if topology == "switch":
        return 2.0 * jnp.log2(jnp.maximum(p, 1.0))
    if topology in TORUS_DIMS:
        dims = TORUS_DIMS[topology]
        return 2.0 * dims * (p ** (1.0 / dims) - 1.0)
    return 2.0 * (p - 1.0)  # ring


def all_reduce_flat_s(n_bytes, p, alpha_s, bw_bytes_per_s, topology: str):
    """All-reduce of ``n_bytes`` per chip over ``p`` chips on one kind of link."""
    return _steps(p, topology) * alpha_s + 2.0 * (p - 1.0) / p * n_bytes / bw_bytes_per_s


def _split(fid: Fidelity, system: System, p):
    """Chips of a group inside one node, and nodes the group spans (each >= 1)."""
    # No group has fewer than one chip (a no-op on integer mappings). The smooth min lies
    # below both arguments, so at p ~ chips_per_node ~ 1 it dipped under one chip, and the
    # (p - 1) terms of the collectives turned negative (negative TTFT in smooth mode).
    p = jnp.maximum(p, 1.0)  # relaxed tp / ep with ep > tp (the search's soft order bound)
    p_intra = jnp.maximum(smin(fid, p, system.chips_per_node), 1.0)
    return p_intra, p / p_intra


def _base_s(chip: Chip, p):
    """Fixed software time of one collective over ``p`` chips (none for p = 1)."""
    return chip.collective_base_s * jnp.clip(p - 1.0, 0.0, 1.0)


def all_reduce_s(fid: Fidelity, chip: Chip, system: System, n_bytes, p):
    """Hierarchical all-reduce: inside the node on chip links, then a ring across nodes."""
    p_intra, p_inter = _split(fid, system, p)
    inside = all_reduce_flat_s(n_bytes, p_intra, chip.link_latency_s, chip.link_bw_bytes_per_s,
                               system.intra_topology)
    across = all_reduce_flat_s(n_bytes, p_inter, system.inter_node_latency_s,
                               system.inter_node_bw_bytes_per_s, "ring")
    return _base_s(chip, jnp.maximum(p, 1.0)) + inside + across


def all_to_all_s(fid: Fidelity, chip: Chip, system: System, n_bytes, p):
    """All-to-all (MoE dispatch or combine) of ``n_bytes`` per chip over ``p`` chips: one
    step on direct links, plus a step across nodes when the group spans nodes."""
    p_intra, p_inter = _split(fid, system, p)
    inside = (jnp.clip(p_intra - 1.0, 0.0, 1.0) * chip.link_latency_s
              + (p_intra - 1.0) / p * n_bytes / chip.link_bw_bytes_per_s)
    across = (jnp.clip(p_inter - 1.0, 0.0, 1.0) * system.inter_node_latency_s
              + (p - p_intra) / p * n_bytes / system.inter_node_bw_bytes_per_s)
    return _base_s(chip, p) + inside + across


def hop_s(fid: Fidelity, chip: Chip, system: System, n_bytes, tp):
    """One pipeline hop carrying ``n_bytes``. Stages of ``tp`` chips are laid out node by
    node, so a fraction min(1, tp / chips_per_node) of hops cross a node boundary."""
    cross = smin(fid, tp / system.chips_per_node, jnp.ones_like(tp))
    inter = system.inter_node_latency_s + n_bytes / system.inter_node_bw_bytes_per_s
    intra = chip.link_latency_s + n_bytes / chip.link_bw_bytes_per_s
    return chip.collective_base_s + cross * inter + (1.0 - cross) * intra


def link_bytes_all_reduce(n_bytes, p):
    """Bytes one chip sends in an all-reduce (for link energy)."""
    return 2.0 * (p - 1.0) / p * n_bytes
