"""One design point, exactly: the report ``codesign evaluate --json`` prints; preset tables."""
import math

from ..config import build_design, hardware_names, load_hardware, load_model, model_names
from ..errors import ConfigError
from ..model import evaluate_jit
from ..model.cost import MIN_COST_YIELD
from ..specs import DTYPES
from ..workload import kv_bytes_per_token, total_params
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
    if isinstance(request.get("batch"), str):
        request["batch"] = parse_batch(request["batch"])
    design = build_design(request)
    out = result_dict(design, evaluate_jit(*design.specs), bool(request.get("calibrated")))
    if sensitivities:
        from ..model.sensitivity import elasticities  # noqa: PLC0415 (jax.grad: only when asked)
        out["sensitivities"] = elasticities(*design.specs)
    return out


def hardware_rows() -> list[dict]:
    """Every hardware preset's key numbers (SI units)."""
    rows = []
    for name in hardware_names():
        hw = load_hardware(name)
        c, s = hw.chip, hw.system
        rows.append({
            "name": name, "summary": hw.summary, "memory_kind": c.memory_kind,
            "memory_bytes": float(c.memory_bytes), "memory_bw_bytes_per_s": float(c.memory_bw_bytes_per_s),
            "peak_flops_per_s": {d: float(c.flops_per_s(d)) for d in DTYPES if float(c.flops_per_s(d)) > 0},
            "tdp_w": float(c.tdp_w), "market_price_usd": float(c.market_price_usd),
            "chips_per_node": float(s.chips_per_node),
        })
    return rows


def model_rows() -> list[dict]:
    """Every model preset's key numbers (SI units)."""
    rows = []
    for name in model_names():
        md = load_model(name)
        w = md.workload()
        rows.append({"name": name, "summary": md.summary, "params": float(total_params(w)),
                     "published_params": md.published_params, "layers": md.dims["layers"],
                     "d_model": md.dims["d_model"], "n_experts": md.dims["n_experts"],
                     "kv_bytes_per_token_fp16": float(kv_bytes_per_token(w))})
    return rows


def presets() -> dict:
    """{hardware: hardware_rows(), models: model_rows()}: what ``codesign presets --json`` prints."""
    return {"hardware": hardware_rows(), "models": model_rows()}
