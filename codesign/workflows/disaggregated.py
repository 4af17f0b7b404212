"""A two-pool (prefill + decode) design, exactly: what ``codesign evaluate`` prints for a config
with ``pools:`` and ``link:`` (:func:`codesign.design.disaggregated.build_disaggregated`)."""
from ..config import CATALOG
from ..design.disaggregated import POOL_NAMES, build_disaggregated
from ..model.cost import die_area_mm2
from ..model.disaggregated import evaluate_disaggregated_jit

_INTEGER = ("chips", "nodes", "replicas", "batch")
#: Busy fraction above which a pool (or the link) is reported as the bottleneck.
_BOUND = 1.0 - 1e-5


def is_disaggregated(request: dict) -> bool:
    """Whether ``request`` describes a two-pool system (it has a ``pools`` key)."""
    return isinstance(request, dict) and "pools" in request


def _pool_dict(design, share: dict) -> dict:
    hw, chip, m = design.hardware, design.chip, design.mapping
    out = {"hardware": hw.name, "memory_tier": chip.memory_kind,
           "tp": int(m.tp), "pp": int(m.pp), "ep": int(m.ep), "dp": int(m.dp)}
    out.update(share)
    for k in _INTEGER:
        out[k] = int(round(out[k]))
    out["fits"] = bool(out["fits"] > 0)
    area, reticle = float(die_area_mm2(chip)), float(chip.reticle_mm2)
    out.update(die_area_mm2=area, reticle_mm2=reticle, buildable=bool(area <= reticle), tdp_w=float(chip.tdp_w),
               chosen=design.chosen)
    return out


def evaluate_disaggregated_request(request: dict, calibrated: bool = False) -> dict:
    """Build and evaluate a two-pool ``request`` exactly: the system's metrics, each pool's
    share (``pools.prefill`` / ``pools.decode``: chips, busy fraction, power and cost shares,
    memory, mapping and the choices made) and the link's (``link``), and the bottleneck."""
    d = build_disaggregated(request, CATALOG)
    r = evaluate_disaggregated_jit(*d.specs).to_dict()
    parts = {k: r.pop(k) for k in ("prefill", "decode", "link")}
    out = {"kind": "disaggregated", "model": d.prefill.model.name, "weight_dtype": d.workload.weight_dtype,
           "kv_dtype": d.workload.kv_dtype, "prompt_tokens": float(d.scenario.prompt_tokens),
           "output_tokens": float(d.scenario.output_tokens)}
    out.update(r)
    out["chips"] = int(round(out["chips"]))
    out["fits"] = bool(out["fits"] > 0)
    busy = {"prefill": parts["prefill"]["busy_fraction"], "decode": parts["decode"]["busy_fraction"],
            "link": parts["link"]["busy_fraction"]}
    out["bottleneck"] = [k for k, v in busy.items() if v >= _BOUND] or [max(busy, key=busy.get)]
    out["pools"] = {n: _pool_dict(d.pool(n), parts[n]) for n in POOL_NAMES}
    link = {"bw_bytes_per_s": float(d.link.bw_bytes_per_s), "latency_s": float(d.link.latency_s),
            "pj_per_byte": float(d.link.pj_per_byte), **parts["link"]}
    link["sources"] = {k: v for k, v in d.link_sources.items() if v}
    out["link"] = link
    out["calibrated"] = bool(calibrated)
    out["hardware_values"] = ("CALIBRATED (fitted values per family, codesign/presets/calibration/fitted.yaml)"
                              if calibrated else "uncalibrated presets (stated physical constants)")
    return out


__all__ = ["evaluate_disaggregated_request", "is_disaggregated"]
