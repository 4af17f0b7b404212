"""One accelerator chip: compute, memory tiers, links, power, energy, area and cost inputs."""
from ._pytree import pytree_dataclass, static
from .dtypes import peak_flops_per_s

MEMORY_KINDS = ("sram", "hbm")
PP_SPLITS = ("op", "layer")
PRICE_MODES = ("market", "build")
#: How a chip runs the op graph of a layer (codesign.model.timing): ``"kernels"``: one op at
#: a time on the whole chip, each paying a launch floor (GPU/TPU kernels on one stream);
#: ``"dataflow"``: a compiler-scheduled chip whose matrix, vector, memory and network units
#: run concurrently, each op paying its pipeline latency (Groq TSP, Cerebras WSE).
EXECUTIONS = ("kernels", "dataflow")


@pytree_dataclass
class Chip:
    """A chip. SI units throughout; every float field can be searched and differentiated.

    Static fields:
        name: preset name.
        memory_kind: where weights and KV cache live: ``"sram"`` (on-chip only, e.g. Groq,
            Cerebras) or ``"hbm"`` (GPU/TPU; on-chip SRAM is ignored for capacity).
        pp_split: pipeline stages cut at ``"op"`` granularity (compiler-scheduled dataflow
            chips: stages hold L/pp layers exactly) or at ``"layer"`` granularity (stages hold
            ceil(L/pp) layers in exact mode).
        execution: how ops run (:data:`EXECUTIONS`): ``"kernels"`` or ``"dataflow"``.
        price_mode: ``"market"``: price = market_price_usd + build_margin x (build cost -
            reference_build_cost_usd), so the unmodified preset costs its market price and a
            modified one (e.g. more SRAM) pays for the difference; ``"build"``: price = build
            cost x build_margin (a new design).
    """

    # Dense peak throughput per operand format; 0 means the format is not supported.
    fp16_flops_per_s: float
    bf16_flops_per_s: float
    fp8_flops_per_s: float
    int8_flops_per_s: float
    fp4_flops_per_s: float
    compute_efficiency: float  # achieved / peak matmul throughput (0, 1]
    # Memory tiers.
    sram_bytes: float
    sram_bw_bytes_per_s: float
    hbm_bytes: float
    hbm_bw_bytes_per_s: float
    memory_efficiency: float  # achieved / peak bandwidth of the weight tier (0, 1]
    clock_hz: float
    # Execution units (codesign.model.timing; rates at the quoted clock).
    vector_ops_per_s: float  # element-wise ops/s of the vector units (norms, softmax, dequantization)
    matrix_load_bytes_per_s: float  # rate the matrix units accept new stationary operands (weights, K/V)
    matrix_tile_rows: float  # rows of the streamed operand one matrix instruction handles (M padded up to it)
    op_floor_s: float  # fixed time of one op: kernel launch + sync (kernels) or pipeline fill (dataflow)
    collective_base_s: float  # fixed software time of one collective (launch, flag handshake)
    # Chip-to-chip links inside a node (aggregate per direction) and their per-hop latency.
    link_bw_bytes_per_s: float
    link_latency_s: float
    # Power and energy.
    tdp_w: float
    static_power_w: float  # idle: drawn whenever powered (leakage, idle clocks, HBM refresh); NVML with no work
    active_baseline_w: float  # + while busy, whatever the work (clock tree, issue logic) at the reference clock; x (f/f_ref)^3
    power_cap_w: float  # board power limit (TGP, or a lower MaxQ / nvidia-smi -pl limit): the core clock drops to meet it
    pj_per_flop_16bit: float  # dynamic energy per FLOP at 16-bit; scaled by width
    sram_pj_per_byte: float
    hbm_pj_per_byte: float
    link_pj_per_byte: float
    # Area.
    die_area_fixed_mm2: float  # everything on the die except the SRAM arrays
    sram_mb_per_mm2: float  # SRAM density (1e6 bytes per mm^2)
    reticle_mm2: float
    # Cost.
    wafer_cost_usd: float
    defect_density_per_cm2: float
    yield_cluster_alpha: float  # negative-binomial clustering parameter
    package_cost_usd: float  # package, test, board
    hbm_usd_per_gb: float
    build_margin: float  # price / build cost for a new design
    market_price_usd: float
    reference_build_cost_usd: float  # build cost of the preset as shipped (derived on load)
    reference_clock_hz: float  # clock the peak, bandwidth and energy figures are quoted at (derived on load)

    name: str = static("custom")
    memory_kind: str = static("hbm")
    pp_split: str = static("layer")
    price_mode: str = static("market")
    execution: str = static("kernels")

    @property
    def clock_ratio(self):
        """clock / the clock the preset's figures are quoted at."""
        return self.clock_hz / self.reference_clock_hz

    def flops_per_s(self, dtype: str):
        """Dense peak throughput for operands of ``dtype`` (FLOP/s); proportional to clock.
        Block-scaled 4-bit formats run at the fp4 rate, or dequantised at the 16-bit rate
        on chips without FP4 units (:func:`codesign.specs.dtypes.peak_flops_per_s`)."""
        return peak_flops_per_s(self, dtype) * self.clock_ratio

    @property
    def voltage_energy_factor(self):
        """Dynamic energy per op relative to the quoted clock: (V / V_ref)^2 with supply
        voltage proportional to clock across the DVFS range ([R] first-order CMOS scaling,
        E = C V^2). Makes a faster clock cost energy instead of being free."""
        return self.clock_ratio ** 2

    @property
    def memory_bytes(self):
        """Capacity of the tier that holds weights and KV cache."""
        return self.sram_bytes if self.memory_kind == "sram" else self.hbm_bytes

    @property
    def memory_bw_bytes_per_s(self):
        """Peak bandwidth of the tier that holds weights and KV cache. On-chip SRAM runs at
        the core clock; HBM has its own clock."""
        if self.memory_kind == "sram":
            return self.sram_bw_bytes_per_s * self.clock_ratio
        return self.hbm_bw_bytes_per_s

    @property
    def memory_pj_per_byte(self):
        if self.memory_kind == "sram":
            return self.sram_pj_per_byte * self.voltage_energy_factor
        return self.hbm_pj_per_byte
