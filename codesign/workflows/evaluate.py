"""One design point, exactly: the report ``codesign evaluate --json`` prints; preset tables."""
import math

from ..config import build_design, hardware_names, load_hardware, load_model, model_names
from ..errors import ConfigError
from ..model import evaluate_jit
from ..model.cost import MIN_COST_YIELD
from ..model.energy import BOUNDARIES as ENERGY_BOUNDARIES
from ..specs import Chip, numeric_fields
from ..workload import active_params, kv_bytes_per_token, total_params
from ._config import resolve
from .disaggregated import evaluate_disaggregated_request, is_disaggregated

_INTEGER_METRICS = ("chips", "nodes", "tp", "pp", "ep", "dp", "batch", "min_chips", "min_chips_weights", "max_batch")


def parse_batch(value):
    """``batch`` as given: None, ``"max"`` (the largest that fits) or a positive integer (a string is parsed)."""
    if value is None or value == "max":
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"batch = {value!r}; allowed: a positive integer or 'max'") from None


#: Metrics that have no price for a die past the reticle whose yield is below the cost floor.
_PRICED = ("die_cost_usd", "chip_price_usd", "capex_usd", "tco_usd", "usd_per_million_tokens")


def result_dict(design, metrics, calibrated: bool = False) -> dict:
    """Names, scenario, every metric (integers as int, ``fits`` as bool), memory tier,
    overflow, whether the die can be built (``buildable``; ``unbuildable`` says which limit
    and by how much, as ``overflow`` does for memory), choices, and whether the hardware
    values are calibrated."""
    out = {"hardware": design.hardware.name, "model": design.model.name,
           "weight_dtype": design.workload.weight_dtype, "kv_dtype": design.workload.kv_dtype,
           "prompt_tokens": float(design.scenario.prompt_tokens),
           "output_tokens": float(design.scenario.output_tokens)}
    m = metrics.to_dict()
    for k in _INTEGER_METRICS:
        m[k] = int(round(m[k]))
    m["fits"] = bool(m["fits"] > 0)
    out.update(m)
    out["memory_tier"] = design.chip.memory_kind
    if not out["fits"]:
        out["overflow"] = {"tier": design.chip.memory_kind, "bytes_per_chip": m["memory_overflow_bytes"],
                           "capacity_bytes": m["memory_capacity_bytes"]}
    reticle = float(design.chip.reticle_mm2)
    out["reticle_mm2"] = reticle
    out["buildable"] = bool(m["die_area_mm2"] <= reticle)
    if not out["buildable"]:
        out["unbuildable"] = {"limit": "reticle", "die_area_mm2": m["die_area_mm2"], "reticle_mm2": reticle,
                              "over_mm2": m["die_area_mm2"] - reticle, "ratio": m["die_area_mm2"] / reticle}
        if m["die_yield"] < MIN_COST_YIELD:  # the model prices it at its yield floor: no real price
            out.update({k: math.nan for k in _PRICED})
    out["chosen"] = design.chosen
    out["calibrated"] = bool(calibrated)
    out["hardware_values"] = (f"CALIBRATED (fitted values of family {design.hardware.family}, "
                              "codesign/presets/calibration/fitted.yaml)" if calibrated
                              else "uncalibrated presets (stated physical constants; --calibrated for fitted values)")
    return out


def null_reasons(result: dict) -> dict:
    """Why a metric of ``result`` has no finite value (for :func:`codesign.config.writing.strict`)."""
    if result.get("buildable", True):
        return {}
    u = result["unbuildable"]
    why = (f"no price: the die ({u['die_area_mm2']:.4g} mm2) exceeds the reticle ({u['reticle_mm2']:.4g} mm2) "
           "and cannot be built")
    return {k: why for k in _PRICED}


def evaluate_request(request, sensitivities: bool = False) -> dict:
    """Build the design of ``request`` (a mapping of :data:`codesign.config.REQUEST_KEYS`, or
    the path of a YAML file of them) and evaluate it exactly; with ``sensitivities``, add
    d ln(metric) / d ln(parameter) for every hardware parameter."""
    request, _ = resolve(request)
    if is_disaggregated(request):  # prefill + decode pools of different chips (issue 10 item 4)
        if sensitivities:
            raise ConfigError("sensitivities = true with pools: (a two-pool config); allowed: a single-pool config")
        return evaluate_disaggregated_request(request, bool(request.get("calibrated")))
    request = dict(request)
    boundary = check_energy_boundary(request.pop("energy_boundary", DEFAULT_ENERGY_BOUNDARY))
    level = check_interval(request.pop("interval", None), bool(request.get("calibrated")))
    if isinstance(request.get("batch"), str):
        request["batch"] = parse_batch(request["batch"])
    design = build_design(request)
    out = at_energy_boundary(result_dict(design, evaluate_jit(*design.specs), bool(request.get("calibrated"))),
                             boundary)
    if sensitivities:
        from ..model.sensitivity import elasticities  # noqa: PLC0415 (jax.grad: only when asked)
        out["sensitivities"] = elasticities(*design.specs)
    if level is not None:
        from .intervals import metric_intervals  # noqa: PLC0415 (vmapped model: only when calibrated)
        out["intervals"] = metric_intervals(design, level, boundary)
    return out


DEFAULT_ENERGY_BOUNDARY = "node"
#: Interval level of evaluate --calibrated when none is given.
DEFAULT_INTERVAL = 0.8


def check_energy_boundary(value) -> str:
    """``value`` if it is one of :data:`ENERGY_BOUNDARIES`, else ConfigError naming energy_boundary."""
    if value not in ENERGY_BOUNDARIES:
        raise ConfigError(f"energy_boundary = {value!r}; allowed: {', '.join(ENERGY_BOUNDARIES)} "
                          "(chip: accelerators only, node: with the hosts, facility: node x PUE)")
    return value


def check_interval(value, calibrated: bool):
    """The interval level: ``value`` in (0, 1), :data:`DEFAULT_INTERVAL` for a calibrated
    evaluation that gives none, None uncalibrated (ConfigError for a bad level or a level
    without calibrated values: presets have no fitted uncertainty)."""
    if value is None:
        return DEFAULT_INTERVAL if calibrated else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
        raise ConfigError(f"interval = {value!r}; allowed: a number in (0, 1), e.g. 0.8 for an 80% interval")
    if not calibrated:
        raise ConfigError(f"interval = {value} needs calibrated: true (--calibrated): only fitted values have "
                          "an uncertainty")
    return float(value)


def at_energy_boundary(out: dict, boundary: str) -> dict:
    """``out`` with ``joules_per_token`` at ``boundary`` and ``energy_boundary`` saying which
    (``joules_per_token_chip/_node/_facility`` stay as they are)."""
    out = dict(out)
    out["joules_per_token"] = out[f"joules_per_token_{boundary}"]
    out["energy_boundary"] = boundary
    return out


#: Operand formats with a peak-rate field on the chip (``<format>_flops_per_s``); the block-scaled
#: storage formats (mxfp4, nvfp4) run at one of these and are not listed separately.
_RATE_FORMATS = tuple(f[:-len("_flops_per_s")] for f in numeric_fields(Chip) if f.endswith("_flops_per_s"))


def hardware_rows() -> list[dict]:
    """Every hardware preset's key numbers (SI units), its vendor, generation and the year
    the generation shipped, and the NVLink/ICI/C2C domain a tensor- or expert-parallel group
    can use (``chips_per_node`` chips on ``intra_topology``); sorted by vendor, year,
    generation and name."""
    rows = []
    for name in hardware_names():
        hw = load_hardware(name)
        c, s = hw.chip, hw.system
        rows.append({
            "name": name, "summary": hw.summary, "vendor": hw.vendor, "generation": hw.generation,
            "year": int(hw.year), "family": hw.family, "memory_kind": c.memory_kind,
            "memory_bytes": float(c.memory_bytes), "memory_bw_bytes_per_s": float(c.memory_bw_bytes_per_s),
            "peak_flops_per_s": {d: float(c.flops_per_s(d)) for d in _RATE_FORMATS if float(c.flops_per_s(d)) > 0},
            "tdp_w": float(c.tdp_w), "market_price_usd": float(c.market_price_usd),
            "chips_per_node": float(s.chips_per_node), "intra_topology": s.intra_topology,
            "link_bw_bytes_per_s": float(c.link_bw_bytes_per_s),
        })
    return sorted(rows, key=lambda r: (r["vendor"].lower(), r["year"], r["generation"], r["name"]))


def hardware_groups(rows: list[dict]) -> list[dict]:
    """``rows`` (as :func:`hardware_rows` sorts them) grouped by vendor, then generation:
    [{vendor, generations: [{generation, year, presets: [names]}]}]."""
    groups = []
    for r in rows:
        if not groups or groups[-1]["vendor"] != r["vendor"]:
            groups.append({"vendor": r["vendor"], "generations": []})
        gens = groups[-1]["generations"]
        if not gens or gens[-1]["generation"] != r["generation"]:
            gens.append({"generation": r["generation"], "year": r["year"], "presets": []})
        gens[-1]["presets"].append(r["name"])
    return groups


def _model_features(md, w) -> dict:
    """Architecture features of a model preset: attention kind (gqa/mla), experts (total,
    active per token, shared, leading dense layers), sliding-window layers, MLA latent, MTP
    modules, the formats the checkpoint ships in ("" = 16-bit) and ``features`` as short text
    (:meth:`codesign.design.Model.features`)."""
    get = lambda k: float(getattr(w, k, 0.0))  # noqa: E731
    return {"attention": md.attention,
            "n_experts": get("n_experts"), "experts_per_token": get("experts_per_token"),
            "n_shared_experts": get("n_shared_experts"), "dense_layers": get("dense_layers"),
            "sliding_window": get("sliding_window"), "sliding_layers": get("sliding_layers"),
            "kv_lora_rank": get("kv_lora_rank"), "mtp_modules": get("mtp_modules"),
            "weight_dtype": md.weight_dtype, "expert_dtype": md.expert_dtype, "features": md.features()}


def model_rows() -> list[dict]:
    """Every model preset's key numbers (SI units) and architecture features: total and
    active parameters (computed, and as published), attention kind, experts, sliding window,
    shipped formats."""
    rows = []
    for name in model_names():
        md = load_model(name)
        w = md.workload()
        rows.append({"name": name, "summary": md.summary, "params": float(total_params(w)),
                     "active_params": float(active_params(w)), "published_params": md.published_params,
                     "published_active_params": float(md.published_active_params),
                     "layers": md.dims["layers"], "d_model": md.dims["d_model"], **_model_features(md, w),
                     "kv_bytes_per_token_fp16": float(kv_bytes_per_token(w))})
    return rows


def presets() -> dict:
    """What ``codesign presets --json`` prints: {hardware: :func:`hardware_rows`,
    hardware_groups: :func:`hardware_groups` of them, models: :func:`model_rows`}."""
    hw = hardware_rows()
    return {"hardware": hw, "hardware_groups": hardware_groups(hw), "models": model_rows()}
