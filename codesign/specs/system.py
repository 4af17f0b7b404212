"""The system a chip ships in: node, rack, network, facility and economics."""
from ._pytree import pytree_dataclass, static

TOPOLOGIES = ("all_to_all", "switch", "ring", "torus", "torus_3d")
#: Dimensions of each torus topology: "torus" is the 2-D torus of TPU v5e/v6e, "torus_3d" the
#: 3-D torus of TPU v4/v5p (reference/hardware_facts.md 5.3).
TORUS_DIMS = {"torus": 2, "torus_3d": 3}


@pytree_dataclass
class System:
    """Packaging, scale-out network, facility and money. SI units; floats are leaves.

    Static fields:
        name: preset name.
        intra_topology: how chips inside a node connect: ``"all_to_all"`` (direct links,
            e.g. GroqNode), ``"switch"`` (NVSwitch), ``"ring"``, ``"torus"`` (2-D torus, TPU
            v5e/v6e ICI) or ``"torus_3d"`` (3-D torus, TPU v4/v5p ICI). Selects the
            all-reduce algorithm (one-shot, ring, or a ring per torus dimension).
    """

    chips_per_node: float
    nodes_per_rack: float
    host_power_w: float  # per node: CPUs, NICs, fans, everything except the chips
    node_cost_usd: float  # per node: chassis, hosts, NICs, switches (not the chips)
    inter_node_bw_bytes_per_s: float  # per chip, per direction, to other nodes
    inter_node_latency_s: float  # per hop between nodes
    pue: float  # facility power / IT power
    usd_per_kwh: float
    lifetime_years: float
    utilization: float  # fraction of the lifetime spent serving at the evaluated point
    host_step_s: float  # serving-engine host time per step the chips wait for (scheduling, sampling, I/O)
    host_step_s_per_seq: float  # + per sequence in the step (input preparation, detokenization)

    name: str = static("custom")
    intra_topology: str = static("switch")
