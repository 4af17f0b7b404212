"""Jia Yangqing's Groq-vs-H100 cost analysis (Feb 2024, Llama-2-70B), reproduced and redone.

Part 1, *as published*: Jia's own inputs through the library's cost functions
(:mod:`codesign.model.cost`):

.. math::
    N_\\min = \\lceil P \\, b_w / C \\rceil, \\qquad
    \\mathrm{capex} = N \\, p_\\mathrm{chip}, \\qquad
    E_\\$ = P_\\mathrm{IT} \\cdot \\mathrm{PUE} \\cdot 8766\\,\\mathrm{h/yr} \\cdot Y \\cdot \\$/\\mathrm{kWh}

with P parameters of b_w bytes, C bytes per chip, Y years. Jia's 305 chips use P = 70e9 and
C = 230e6 B; the model's own parameter count (68.98e9) and the chip's 220 MiB (230.69e6 B)
give 300.

Part 2, *computed by the model*: each deployment is evaluated in full (timing, memory,
energy, cost from the presets) at the batch its rule picks; a comparison puts
:math:`n = \\lceil T_\\mathrm{Groq} / T_\\mathrm{GPU} \\rceil` GPU servers against the Groq
system (equal throughput T, tokens/s) and reports capex, energy-cost, TCO and $/Mtok ratios.

Source: hardware_facts.md section 3 (Wallstreetcn summary of Jia's post; Li Bojie's 01.me).
"""
import dataclasses
import math

from ..model import EXACT
from ..model import cost
from ..model.memory import memory_use
from ..specs import Chip, Mapping, Scenario, System, Workload, dtype_bytes
from ..specs import replace as spec_replace
from ..workload import total_params
from .batching import BatchRule, operating_point


@dataclasses.dataclass(frozen=True)
class PublishedInputs:
    """Jia's inputs (SI units) and the figures he published, for comparison."""

    params: float  # 70e9
    weight_dtype: str  # "int8"
    chip_memory_bytes: float  # 230e6 ("230 MB")
    chips: float  # LPU cards costed (572)
    chip_price_usd: float  # 20,000
    chip_power_w: float  # 185 (average)
    gpu_server_chips: float  # 8
    gpu_server_price_usd: float  # 300,000
    gpu_server_power_w: float  # 10,000
    usd_per_kwh: float  # 0.274
    pue: float  # 1.0
    lifetime_years: float  # 3
    claimed: dict  # published results: min_chips, capex_ratio, energy_ratio, *_energy_usd


@dataclasses.dataclass(frozen=True)
class Deployment:
    """One system at a fixed mapping (tp x pp chips, one replica) and a batch rule."""

    label: str
    chip: Chip
    system: System
    workload: Workload
    tp: float
    pp: float
    rule: BatchRule


def min_chips_for_weights(params, bytes_per_param, chip_bytes) -> tuple[float, int]:
    """(P b_w / C, its ceiling): chips whose memory holds the weights alone."""
    ratio = params * bytes_per_param / chip_bytes
    return ratio, math.ceil(ratio * (1.0 - 1e-9))


def published(inp: PublishedInputs, groq_chip: Chip, groq_system: System, gpu_chip: Chip,
              gpu_system: System, workload: Workload, scenario: Scenario) -> dict:
    """Part 1: Jia's arithmetic with his inputs, through :mod:`codesign.model.cost`.

    ``workload`` (with Jia's weight dtype) and ``groq_chip`` give the model's own minimum
    chip count; everything else uses only ``inp``. Hours per year are 8766 (365.25 days);
    Jia's 26,280 h in 3 years (365 days) is 0.07% less.
    """
    bw = dtype_bytes(inp.weight_dtype)
    one = Mapping(tp=1.0, pp=1.0, ep=1.0, dp=1.0, batch=1.0)
    model_params = float(total_params(workload))
    model_bytes = float(groq_chip.memory_bytes)
    model_min = float(memory_use(EXACT, groq_chip, workload, one, scenario).min_chips_weights)
    chips = {
        "model": min_chips_for_weights(model_params, bw, model_bytes),
        "published": min_chips_for_weights(inp.params, bw, inp.chip_memory_bytes),
        "published_params_model_chip": min_chips_for_weights(inp.params, bw, model_bytes),
        "model_params_published_chip": min_chips_for_weights(model_params, bw, inp.chip_memory_bytes),
    }
    jia = dict(node_cost_usd=0.0, pue=inp.pue, usd_per_kwh=inp.usd_per_kwh,
               lifetime_years=inp.lifetime_years)
    g_sys, h_sys = spec_replace(groq_system, **jia), spec_replace(gpu_system, **jia)
    # Jia prices the server whole: each GPU carries an equal share of it, no node cost.
    g_chip = spec_replace(groq_chip, market_price_usd=inp.chip_price_usd)
    h_chip = spec_replace(gpu_chip, market_price_usd=inp.gpu_server_price_usd / inp.gpu_server_chips)
    groq_power, gpu_power = inp.chips * inp.chip_power_w, inp.gpu_server_power_w
    groq_capex = float(cost.capex_usd(g_chip, g_sys, inp.chips, 0.0))
    gpu_capex = float(cost.capex_usd(h_chip, h_sys, inp.gpu_server_chips, 0.0))
    # Energy cost over the lifetime = TCO of a system that cost nothing to buy.
    groq_energy = float(cost.tco_usd(g_sys, 0.0, cost.opex_usd_per_year(g_sys, groq_power)))
    gpu_energy = float(cost.tco_usd(h_sys, 0.0, cost.opex_usd_per_year(h_sys, gpu_power)))
    return {
        "model_params": model_params, "model_chip_memory_bytes": model_bytes,
        "published_params": inp.params, "published_chip_memory_bytes": inp.chip_memory_bytes,
        "weight_bytes_per_param": bw, "min_chips_model": model_min,
        "min_chips": {k: {"ratio": r, "chips": float(n)} for k, (r, n) in chips.items()},
        "chips_costed": inp.chips, "chip_price_usd": inp.chip_price_usd,
        "groq_capex_usd": groq_capex, "gpu_capex_usd": gpu_capex, "capex_ratio": groq_capex / gpu_capex,
        "groq_power_w": groq_power, "gpu_power_w": gpu_power, "power_ratio": groq_power / gpu_power,
        "usd_per_kwh": inp.usd_per_kwh, "pue": inp.pue, "lifetime_years": inp.lifetime_years,
        "groq_energy_usd": groq_energy, "gpu_energy_usd": gpu_energy,
        "energy_ratio": groq_energy / gpu_energy, "claimed": dict(inp.claimed),
    }


def evaluate_deployment(d: Deployment, scenario: Scenario, where: str = "batch") -> dict:
    """Part 2, one system: all exact metrics at the batch ``d.rule`` picks, plus
    ``energy_usd`` = opex per year x lifetime (electricity over the lifetime). ``where``
    names the batch rule in errors."""
    r = operating_point(d.chip, d.system, d.workload, d.tp, d.pp, scenario, d.rule, where)
    r["energy_usd"] = r["opex_usd_per_year"] * float(d.system.lifetime_years)
    r.update(label=d.label, hardware=d.chip.name, weight_dtype=d.workload.weight_dtype,
             kv_dtype=d.workload.kv_dtype, batch_rule=d.rule.describe(),
             lifetime_years=float(d.system.lifetime_years), pue=float(d.system.pue),
             usd_per_kwh=float(d.system.usd_per_kwh), utilization=float(d.system.utilization))
    return r


def equal_throughput(label: str, groq: dict, gpu: dict) -> dict:
    """Part 2, one comparison: ``gpu_servers`` = ceil(T_groq / T_gpu) copies of the GPU
    deployment serve at least the Groq system's throughput; ratios are Groq / GPU fleet
    (capex, lifetime energy cost, serving power, TCO) or per token ($/Mtok, J/token)."""
    exact = groq["throughput_tokens_per_s"] / gpu["throughput_tokens_per_s"]
    n = float(math.ceil(exact * (1.0 - 1e-9)))
    fleet = lambda k: n * gpu[k]
    return {
        "label": label,
        "groq_throughput_tokens_per_s": groq["throughput_tokens_per_s"],
        "gpu_servers_exact": exact, "gpu_servers": n,
        "gpu_fleet_throughput_tokens_per_s": fleet("throughput_tokens_per_s"),
        "gpu_fleet_chips": fleet("chips"), "gpu_fleet_capex_usd": fleet("capex_usd"),
        "gpu_fleet_energy_usd": fleet("energy_usd"), "gpu_fleet_power_w": fleet("power_w"),
        "gpu_fleet_tco_usd": fleet("tco_usd"),
        "capex_ratio": groq["capex_usd"] / fleet("capex_usd"),
        "energy_ratio": groq["energy_usd"] / fleet("energy_usd"),
        "power_ratio": groq["power_w"] / fleet("power_w"),
        "tco_ratio": groq["tco_usd"] / fleet("tco_usd"),
        "usd_per_million_tokens_ratio": groq["usd_per_million_tokens"] / gpu["usd_per_million_tokens"],
        "joules_per_token_ratio": groq["joules_per_token"] / gpu["joules_per_token"],
        "tokens_per_s_per_user_ratio": (groq["decode_tokens_per_s_per_user"]
                                        / gpu["decode_tokens_per_s_per_user"]),
    }


def computed(deployments: dict[str, Deployment], comparisons, scenario: Scenario) -> dict:
    """Part 2: every deployment, then every ``(label, groq_key, gpu_key)`` comparison (its
    ``groq`` and ``gpu`` entries are the keys into ``deployments``)."""
    results = {k: evaluate_deployment(d, scenario, f"computed.deployments.{k}.batch")
               for k, d in deployments.items()}
    return {
        "scenario": {"prompt_tokens": float(scenario.prompt_tokens),
                     "output_tokens": float(scenario.output_tokens)},
        "deployments": results,
        "comparisons": [{**equal_throughput(label, results[g], results[h]), "groq": g, "gpu": h}
                        for label, g, h in comparisons],
    }
