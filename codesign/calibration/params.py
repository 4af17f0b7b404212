"""The free parameters of calibration: efficiency factors and fixed overheads per hardware
family, each bounded, and how they act on a chip and a system.

Every parameter is fitted in an unconstrained variable z and mapped into its bounds [lo, hi]:

.. math:: \\text{absolute: } \\theta = lo + (hi - lo)\\,\\sigma(z), \\qquad
          \\text{multiplier: } \\theta = \\exp\\big(\\ln lo + (\\ln hi - \\ln lo)\\,\\sigma(z)\\big),

so every z is feasible and gradients are finite. ``absolute`` parameters replace the preset
value; ``multiplier`` parameters scale the preset's field(s). Nothing else is free: peak
rates, capacities, bandwidths and prices stay the sourced preset values.

Presets of one family (``family:`` in each hardware preset, :attr:`Hardware.family`) share
one set of values: same vendor software stack and design style.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ..specs import Chip, System
from ..specs import replace as spec_replace


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "absolute" or "multiplier"
    lo: float
    hi: float
    init: float  # value the fit starts from (and keeps when no row constrains it)
    fields: tuple  # "chip.x" / "system.x" fields it sets or scales
    meaning: str


PARAMS = (
    Param("compute_efficiency", "absolute", 0.2, 1.0, 0.96, ("chip.compute_efficiency",),
          "achieved / peak matmul throughput (all dtypes); software and kernels included"),
    Param("memory_efficiency", "absolute", 0.2, 1.0, 0.96, ("chip.memory_efficiency",),
          "achieved / peak bandwidth of the weight tier (HBM or SRAM)"),
    Param("op_latency", "multiplier", 0.25, 4.0, 1.0, ("chip.op_floor_s", "chip.collective_base_s"),
          "fixed time of each op and collective (kernel launch/sync on GPUs, pipeline fill on dataflow chips)"),
    Param("link_latency", "multiplier", 0.25, 4.0, 1.0,
          ("chip.link_latency_s", "system.inter_node_latency_s"),
          "fixed per-hop latency of chip-to-chip and node-to-node messages"),
    Param("link_bandwidth", "multiplier", 0.25, 4.0, 1.0,
          ("chip.link_bw_bytes_per_s", "system.inter_node_bw_bytes_per_s"),
          "effective / peak bandwidth of collectives: < 1 for protocol overhead, > 1 when the "
          "switch reduces in-network (NVLink SHARP) or collectives overlap compute"),
    Param("host_overhead", "multiplier", 0.25, 4.0, 1.0, ("system.host_step_s", "system.host_step_s_per_seq"),
          "serving-engine host time per step (scheduling, sampling, input preparation) the chips wait for"),
    Param("static_power", "multiplier", 0.25, 3.0, 1.0, ("chip.static_power_w",),
          "power drawn while powered whatever the load (presets assume 30% of TDP; x3 = 90%)"),
    Param("dynamic_energy", "multiplier", 0.25, 4.0, 1.0,
          ("chip.pj_per_flop_16bit", "chip.sram_pj_per_byte", "chip.hbm_pj_per_byte",
           "chip.link_pj_per_byte"),
          "energy per FLOP and per byte moved (presets: Horowitz 45 nm scaled, TDP-derived bounds)"),
)
NAMES = tuple(p.name for p in PARAMS)
N_PARAMS = len(PARAMS)

def _lo_hi(log: bool):
    lo = np.array([p.lo for p in PARAMS])
    hi = np.array([p.hi for p in PARAMS])
    return (np.log(lo), np.log(hi)) if log else (lo, hi)


_MULT = np.array([p.kind == "multiplier" for p in PARAMS])


def to_physical(z):
    """Unconstrained z (..., N_PARAMS) -> bounded parameter values."""
    s = jax.nn.sigmoid(z)
    lin_lo, lin_hi = _lo_hi(False)
    log_lo, log_hi = _lo_hi(True)
    return jnp.where(_MULT, jnp.exp(log_lo + (log_hi - log_lo) * s), lin_lo + (lin_hi - lin_lo) * s)


def to_unconstrained(theta):
    """Inverse of :func:`to_physical` (values strictly inside their bounds)."""
    theta = np.asarray(theta, float)
    lin_lo, lin_hi = _lo_hi(False)
    log_lo, log_hi = _lo_hi(True)
    s = np.where(_MULT, (np.log(theta) - log_lo) / (log_hi - log_lo), (theta - lin_lo) / (lin_hi - lin_lo))
    s = np.clip(s, 1e-6, 1 - 1e-6)
    return np.log(s) - np.log1p(-s)


def init_theta() -> np.ndarray:
    return np.array([p.init for p in PARAMS])


def apply(chip: Chip, system: System, theta) -> tuple[Chip, System]:
    """Set/scale the fields of ``chip`` and ``system`` by one family's values ``theta``
    (length N_PARAMS, in PARAMS order). Traceable."""
    chip_changes, sys_changes = {}, {}
    for i, p in enumerate(PARAMS):
        for field in p.fields:
            spec, name = field.split(".", 1)
            target, changes = (chip, chip_changes) if spec == "chip" else (system, sys_changes)
            base = changes.get(name, getattr(target, name))
            changes[name] = theta[i] if p.kind == "absolute" else base * theta[i]
    return spec_replace(chip, **chip_changes), spec_replace(system, **sys_changes)


def identity_theta(chip: Chip) -> np.ndarray:
    """Values that leave ``chip`` unchanged (preset efficiencies, multipliers 1)."""
    return np.array([float(getattr(chip, p.fields[0].split(".", 1)[1])) if p.kind == "absolute" else 1.0
                     for p in PARAMS])


def apply_values(chip: Chip, system: System, values: dict) -> tuple[Chip, System]:
    """Apply ``{param name: value}`` (a subset of NAMES; the rest unchanged)."""
    unknown = sorted(set(values) - set(NAMES))
    if unknown:
        raise KeyError(f"unknown calibration parameter {unknown[0]!r}; known: {', '.join(NAMES)}")
    theta = identity_theta(chip)
    for k, v in values.items():
        theta[NAMES.index(k)] = float(v)
    return apply(chip, system, theta)
