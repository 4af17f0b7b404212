r"""Power and energy per token, at a stated boundary, under a power cap.

**Power of one chip.** A powered chip draws its idle power ``static_power_w`` (leakage, idle
clocks, HBM refresh: what NVML reads with no work). A clocked, busy chip adds an active
baseline ``active_baseline_w`` that does not depend on the work done (clock tree at full
clock, warp/issue logic, caches and NoC toggling), quoted at the reference clock. The work
adds dynamic energy: FLOPs x pJ/FLOP (16-bit figure scaled by operand width) + bytes read
from the weight tier x pJ/byte + bytes sent over links x pJ/byte. At clock ratio r (clock /
reference clock) with supply voltage proportional to clock in the DVFS range ([R]
first-order CMOS scaling, P = C V^2 f):

.. math:: P(r) = P_\mathrm{idle} + P_\mathrm{base}\, r^3
          + \frac{X(r)}{N_\mathrm{chips}}\big(E_\mathrm{core}\, r^2 + E_\mathrm{mem}\big),

with X(r) the throughput at that clock (tokens/s), E_core the per-token energy of the core
clock domain (FLOPs; on-chip SRAM when weights live there) and E_mem that of HBM and links
(their own clocks and voltages: independent of r).

**Power cap.** ``power_cap_w`` (the board limit: TDP/TGP, or a lower MaxQ/``nvidia-smi -pl``
limit) bounds the chip's average power. When P at the configured clock exceeds it, the
core clock drops to the largest r that meets it (:func:`capped_clock_ratio`). X(r) needs the
whole timing model, so the cap is solved on a linear model of it: the time per token
tau(s) = 1/X as a function of the time dilation s = 1/r is non-decreasing and convex for
every roofline/latency term (each is c s + m or max(c s, m)), so it lies above the line
through tau(1) whose slope is the chord to a slightly faster clock (at most the derivative).
That line over-estimates throughput, and so power, at every lower clock: the clock found
meets the cap whatever the timing model's shape, and is the largest such clock when tau is
linear over the range (all compute- or all memory-bound). Timing and energy are then
evaluated again at that clock. Below ``MIN_CLOCK_RATIO`` the chip cannot slow further and
may exceed its cap (a cap under idle + memory power).

**Boundaries** (what a meter around that part of the deployment reads), per output token:

.. math:: E_\mathrm{chip} = \frac{E_\mathrm{dyn}}{n} + \frac{N_\mathrm{chips}
          (P_\mathrm{idle} + P_\mathrm{base} r^3)}{X},
          \quad E_\mathrm{node} = E_\mathrm{chip} + \frac{N_\mathrm{nodes} P_\mathrm{host}}{X},
          \quad E_\mathrm{facility} = \mathrm{PUE}\, E_\mathrm{node},

with N_nodes the node share used (chips / chips per node). *chip*: accelerators only (what
NVML / Zeus reads, e.g. ML.ENERGY); *node*: IT power with the hosts (CPUs, NICs, fans; MLPerf
Power at the wall of the servers); *facility*: node x PUE (cooling and power delivery).
``joules_per_token`` is the node figure. Serving keeps the chips busy (steady state), so the
active baseline is charged for the whole time; ``idle_power_w`` is the deployment with no work.
"""
import jax
import jax.numpy as jnp

from ..specs import Chip, Mapping, Scenario, System, Workload, dtype_bytes
from ..specs import replace as spec_replace
from ..specs.dtypes import dtype_bits_ratio
from ..workload import layer_cost, lm_head_cost
from .collectives import link_bytes_all_reduce
from .memory import kv_shards, microbatches
from .smooth import Fidelity, smin

_PJ = 1e-12
#: Lowest core clock the cap may force, as a fraction of the configured clock ([assumption]:
#: GPUs' minimum application clocks are ~10-20% of boost, e.g. H100 SXM 345 of 1,980 MHz [R]).
MIN_CLOCK_RATIO = 0.1
#: Highest clock ratio the cap search considers (smooth mode blends min(1, r_cap) over it).
_MAX_CLOCK_RATIO = 2.0
#: Newton steps: from r = 1 the error shrinks by >= 1/4 a step while far (a quartic) and
#: quadratically near the root: 5 leave a relative error <= 1e-5 for roots r >= 0.6, 4e-4 at
#: 0.5, 5e-2 at 0.3 (the final chord step then gives a clock that far below the largest one).
_NEWTON_ITERS = 5
#: Time-dilation step of the slope chord (a clock 3% faster): well above float32 resolution.
_SLOPE_STEP = 1.0 / 32


def dynamic_parts_j(fid: Fidelity, chip: Chip, w: Workload, m: Mapping, tokens, seqs, context):
    """(core, memory) dynamic joules of one micro-batch step through all layers of one
    replica, at the chip's clock: *core* is the core clock domain (FLOPs, and on-chip SRAM
    when weights live there; scales with V^2), *memory* is HBM and links (their own clocks)."""
    lc = layer_cost(w, m.tp, kv_shards(fid, w, m.tp), tokens, seqs, context)
    head_flops, head_bytes = lm_head_cost(w, m.tp, seqs)
    chips = m.tp  # every chip of a stage does the per-chip work of that stage's layers
    flops = chips * (w.layers * (lc.proj_flops + lc.ffn_flops) + head_flops)
    attn_flops = chips * w.layers * lc.attn_flops
    mem_bytes = chips * (w.layers * (lc.proj_bytes + lc.attn_bytes + lc.ffn_bytes) + head_bytes)
    link = (chips * w.layers * 2.0 * link_bytes_all_reduce(lc.act_bytes, m.tp)
            + (m.pp - 1.0) * lc.act_bytes)
    pj_per_flop = chip.pj_per_flop_16bit * chip.voltage_energy_factor
    flop_j = (flops * dtype_bits_ratio(w.weight_dtype) + attn_flops * dtype_bits_ratio(w.kv_dtype)) * pj_per_flop * _PJ
    mem_j = mem_bytes * chip.memory_pj_per_byte * _PJ
    link_j = link * chip.link_pj_per_byte * _PJ
    if chip.memory_kind == "sram":  # on-chip SRAM runs at the core clock and voltage
        return flop_j + mem_j, link_j
    return flop_j, mem_j + link_j


def dynamic_j(fid: Fidelity, chip: Chip, w: Workload, m: Mapping, tokens, seqs, context):
    """Dynamic joules of one micro-batch step through all layers of one replica."""
    core, mem = dynamic_parts_j(fid, chip, w, m, tokens, seqs, context)
    return core + mem


def dynamic_parts_per_token_j(fid: Fidelity, chip: Chip, w: Workload, m: Mapping, sc: Scenario):
    """(core, memory) dynamic joules per output token (decode steps shared by the batch plus
    one prefill per sequence) at the chip's clock; see :func:`dynamic_parts_j`."""
    mb = microbatches(fid, m)
    b = m.batch / mb
    dc, dm = dynamic_parts_j(fid, chip, w, m, b, b, sc.prompt_tokens + 0.5 * sc.output_tokens)
    pc, pm = dynamic_parts_j(fid, chip, w, m, sc.prompt_tokens, 1.0, 0.5 * sc.prompt_tokens)
    return mb * dc / m.batch + pc / sc.output_tokens, mb * dm / m.batch + pm / sc.output_tokens


def busy_power_w(chip: Chip):
    """Work-independent power of one clocked, busy chip: idle + active baseline x r^3
    (r = clock / reference clock: f V^2 with V proportional to f)."""
    return chip.static_power_w + chip.active_baseline_w * chip.clock_ratio ** 3


def idle_power_w(chip: Chip, system: System, chips, nodes):
    """Power drawn by a powered, idle deployment: chip idle power plus hosts."""
    return chips * chip.static_power_w + nodes * system.host_power_w


def chip_power_w(chip: Chip, dynamic_j_per_token, chips, tokens_per_s):
    """Average power of one chip serving at ``tokens_per_s`` (system throughput over
    ``chips`` accelerators) with ``dynamic_j_per_token`` of dynamic energy (all chips)."""
    return busy_power_w(chip) + dynamic_j_per_token * tokens_per_s / chips


def _cap_residual(chip: Chip, r, core_j, mem_j, chips, tau_a, tau_b):
    """(F, dF/dr) with F(r) = chips (cap - P(r)) (tau_a r + tau_b): a quartic in r with the
    root of P(r) = cap, decreasing and concave for r > 0 (Horner form: no division)."""
    k = chips * (chip.power_cap_w - chip.static_power_w)
    bb = chips * chip.active_baseline_w * chip.clock_ratio ** 3
    r2 = r * r
    f = k * (tau_a * r + tau_b) - bb * r2 * r * (tau_a * r + tau_b) - r * (core_j * r2 + mem_j)
    df = k * tau_a - bb * r2 * (4.0 * tau_a * r + 3.0 * tau_b) - (3.0 * core_j * r2 + mem_j)
    return f, df


def capped_clock_ratio(fid: Fidelity, chip: Chip, core_j, mem_j, chips, tau, dtau_ds):
    """Core clock / configured clock under ``chip.power_cap_w`` (1 when the cap does not bind).

    Args:
        core_j, mem_j: dynamic energy per output token at the configured clock, core clock
            domain and memory/link domain (all chips).
        chips: accelerators sharing the throughput.
        tau: time per output token (1 / throughput) at the configured clock.
        dtau_ds: its derivative with respect to the time dilation s = clock_hz / new clock at
            s = 1 (or a chord slope below it); clipped to [0, tau], the range every
            roofline/latency model has.

    Pure, with a fixed number of steps: Newton's method from r = 1 on the linear-time power model
    (module docstring) written as a quartic that is concave and decreasing in r, so the
    iterates approach the root monotonically from above after the first step, then one
    implicit-function step that carries the gradient (the iterations are stop-gradient).
    Exact mode: min(1, r_cap), so the chip's power is at most the cap (to the iterations'
    float residual); smooth: a p-norm min for search.
    """
    b = jnp.clip(dtau_ds, 0.0, tau)
    a = tau - b
    args = (chip, core_j, mem_j, chips, a, b)
    sg = jax.lax.stop_gradient
    args_c = sg(args)
    r = jnp.ones_like(tau)
    f1, df1 = _cap_residual(args_c[0], r, *args_c[1:])
    # Cap above demand and F still rising at r = 1 (memory-bound, cap far above): the root is
    # far above the clock range; Newton would step the wrong way.
    far_above = (f1 >= 0.0) & (df1 >= 0.0)
    for i in range(_NEWTON_ITERS):  # unrolled: a fixed, small number of steps
        f, df = (f1, df1) if i == 0 else _cap_residual(args_c[0], r, *args_c[1:])
        r = jnp.clip(r - f / jnp.minimum(df, -1e-30), MIN_CLOCK_RATIO, _MAX_CLOCK_RATIO)
    # The iterates are above the root; the chord of the concave F from the lowest clock
    # (F > 0 there when the cap is feasible) to (r, F(r) < 0) crosses zero below the root: a
    # clock that meets the cap, equal to r at convergence.
    f, df = _cap_residual(args_c[0], r, *args_c[1:])
    f_lo, _ = _cap_residual(args_c[0], jnp.full_like(r, MIN_CLOCK_RATIO), *args_c[1:])
    chord = MIN_CLOCK_RATIO + (r - MIN_CLOCK_RATIO) * f_lo / jnp.maximum(f_lo - f, 1e-30)
    r = jnp.where(f_lo <= 0.0, MIN_CLOCK_RATIO, jnp.where(f < 0.0, chord, r))
    r = jnp.clip(jnp.where(far_above, _MAX_CLOCK_RATIO, r), MIN_CLOCK_RATIO, _MAX_CLOCK_RATIO)
    # Implicit function theorem at the root F(r) = 0: dr = -dF / (dF/dr); the value stays r.
    f, df = _cap_residual(chip, r, *args[1:])
    inside = (r > MIN_CLOCK_RATIO) & (r < _MAX_CLOCK_RATIO) & (sg(df) < 0.0)  # else no root in range
    step = -jnp.where(inside, f, 0.0) / sg(jnp.where(inside, df, -1.0))  # finite in both branches
    r_cap = r + (step - sg(step))
    if fid.smooth:
        return smin(fid, jnp.ones_like(r_cap), r_cap)
    return jnp.where(f1 >= 0.0, 1.0, jnp.minimum(1.0, r_cap))


def at_clock_ratio(chip: Chip, r) -> Chip:
    """``chip`` with its core clock scaled by r (peaks, on-chip bandwidth and per-op energy follow)."""
    return spec_replace(chip, clock_hz=chip.clock_hz * r)


def power_capped_chip(fid: Fidelity, chip: Chip, w: Workload, m: Mapping, sc: Scenario, tokens_per_s_of):
    """``chip`` at the largest core clock whose power meets ``chip.power_cap_w`` (itself when
    the cap does not bind); see :func:`capped_clock_ratio`.

    Args:
        tokens_per_s_of: ``chip -> system throughput`` (the timing model); called under
            the configured clock and at a clock 1 / (1 - h) faster (h = 1/32) for the time
            per token and its clock slope.
    """
    tau = 1.0 / tokens_per_s_of(chip)
    # Slope of tau(s) from a chord to a slightly faster clock (s = 1 - h): for convex tau it is
    # at most the derivative at s = 1, so the line through tau(1) with it stays below tau(s)
    # for every s >= 1 (a power bound that holds at every lower clock). One primal evaluation,
    # ~2x cheaper than jax.jvp of the timing model.
    h = _SLOPE_STEP
    dtau_ds = (tau - 1.0 / tokens_per_s_of(at_clock_ratio(chip, 1.0 / (1.0 - h)))) / h
    core_j, mem_j = dynamic_parts_per_token_j(fid, chip, w, m, sc)
    r = capped_clock_ratio(fid, chip, core_j, mem_j, m.chips, tau, dtau_ds)
    return at_clock_ratio(chip, r)


#: Energy boundaries, innermost first (see the module docstring).
BOUNDARIES = ("chip", "node", "facility")


def joules_per_token_by_boundary(chip: Chip, system: System, dynamic_j_per_token, chips, nodes,
                                 tokens_per_s) -> dict:
    """``{boundary: joules per output token}`` for :data:`BOUNDARIES`.

    Args:
        chip: the chip at the clock it serves at (after the power cap).
        dynamic_j_per_token: dynamic energy of the accelerators per output token (J).
        chips: accelerators of the deployment; nodes: node share they occupy (hosts charged).
        tokens_per_s: system throughput (output tokens/s) over which the busy chips' idle
            and active-baseline power (:func:`busy_power_w`) and the hosts are spread.
    """
    chip_j = dynamic_j_per_token + chips * busy_power_w(chip) / tokens_per_s
    node_j = chip_j + nodes * system.host_power_w / tokens_per_s
    return {"chip": chip_j, "node": node_j, "facility": system.pue * node_j}


__all__ = ["BOUNDARIES", "MIN_CLOCK_RATIO", "at_clock_ratio", "busy_power_w", "capped_clock_ratio",
           "chip_power_w", "dynamic_j", "dynamic_parts_j", "dynamic_parts_per_token_j", "idle_power_w",
           "joules_per_token_by_boundary", "power_capped_chip", "dtype_bytes"]
