"""Die area, yield, die cost, chip price, capex, opex, TCO and $ per million tokens.

Dies per wafer (d = 300 mm): DPW = pi (d/2)^2 / A - pi d / sqrt(2 A).
Negative-binomial yield (Stapper): Y = (1 + A D0 / alpha)^(-alpha), A in cm^2.
Die cost = wafer cost / (DPW x max(Y, 1e-6)). Sources of the constants are in each preset.
"""
import jax.numpy as jnp

from ..specs import Chip, System

WAFER_DIAMETER_MM = 300.0
HOURS_PER_YEAR = 8766.0  # 365.25 days
SECONDS_PER_YEAR = HOURS_PER_YEAR * 3600.0


def die_area_mm2(chip: Chip):
    """Fixed logic/IO area plus SRAM arrays at the node's density."""
    return chip.die_area_fixed_mm2 + chip.sram_bytes / 1e6 / chip.sram_mb_per_mm2


def dies_per_wafer(area_mm2):
    """Gross dies per 300 mm wafer; at least 1 (wafer-scale parts use the whole wafer)."""
    d = WAFER_DIAMETER_MM
    dpw = jnp.pi * (d / 2) ** 2 / area_mm2 - jnp.pi * d / jnp.sqrt(2.0 * area_mm2)
    return jnp.maximum(dpw, 1.0)


def die_yield(chip: Chip, area_mm2):
    return (1.0 + area_mm2 / 100.0 * chip.defect_density_per_cm2 / chip.yield_cluster_alpha) ** (
        -chip.yield_cluster_alpha)


#: Yield floor of the die cost. Below it (dies of ~1e4 mm^2 and up at a positive defect
#: density) 1/Y overflowed float32 to infinity, and with it capex, TCO, $/Mtok and, through
#: 0 x inf in reverse mode, the gradients of every metric; at the floor such a die costs
#: 1e6 wafers (finite, never chosen). No preset comes near it.
MIN_COST_YIELD = 1e-6


def die_cost_usd(chip: Chip):
    area = die_area_mm2(chip)
    good = jnp.maximum(die_yield(chip, area), MIN_COST_YIELD)
    return chip.wafer_cost_usd / (dies_per_wafer(area) * good)


def build_cost_usd(chip: Chip):
    """Cost to build one chip: good die + HBM + package, test and board."""
    return die_cost_usd(chip) + chip.hbm_bytes / 1e9 * chip.hbm_usd_per_gb + chip.package_cost_usd


def chip_price_usd(chip: Chip):
    """Price of one chip.

    ``market``: the preset's market price plus the change in build cost marked up by
    ``build_margin`` (cost-plus pricing of the difference), never below build cost; for the
    unmodified preset this is exactly the market price. ``build``: build cost x margin, for
    a new design.
    """
    build = build_cost_usd(chip)
    if chip.price_mode == "market":
        delta = chip.build_margin * (build - chip.reference_build_cost_usd)
        return jnp.maximum(chip.market_price_usd + delta, build)
    return build * chip.build_margin


def capex_usd(chip: Chip, system: System, chips, nodes):
    return chips * chip_price_usd(chip) + nodes * system.node_cost_usd


def opex_usd_per_year(system: System, avg_power_w):
    """Electricity: average IT power x PUE x hours per year x $/kWh."""
    return avg_power_w * system.pue * HOURS_PER_YEAR * system.usd_per_kwh / 1000.0


def tco_usd(system: System, capex, opex_per_year):
    return capex + opex_per_year * system.lifetime_years


def usd_per_million_tokens(system: System, tco, tokens_per_s):
    """TCO over the tokens served in the lifetime at the stated utilization."""
    served = tokens_per_s * system.utilization * system.lifetime_years * SECONDS_PER_YEAR
    return tco / served * 1e6
