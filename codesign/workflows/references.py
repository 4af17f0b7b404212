"""Reference designs named in an experiment config (``compare:``), evaluated exactly.

    compare:
      - {label: "Groq v1 (576 chips)", hardware: groq-lpu-v1, tp: 8, pp: 72, batch: [1, 8, 72]}
      - {label: "8x H100", hardware: h100-sxm, weight_dtype: fp8, tp: 8, pp: 1, batch: [1, 16, 64]}

Unset keys inherit the config's model and scenario; a list of batches gives one point each.
"""
from ..config import REQUEST_KEYS, build_design
from ..errors import ConfigError
from ..model import evaluate_jit

INHERITED = ("model", "prompt_tokens", "output_tokens", "prefill_chunk_tokens", "utilization", "calibrated")


def evaluate_references(cfg: dict, model: str | None = None) -> list[dict]:
    """[{label, points: [{request, metrics, chips}]}] for each ``compare:`` entry (only those for
    ``model`` when given: an entry without a model key serves every model)."""
    entries = cfg.get("compare") or []
    if not isinstance(entries, list):
        raise ConfigError("compare: expected a list of designs ({label, hardware, tp, pp, batch, ...})")
    out = []
    for k, e in enumerate(entries):
        if not isinstance(e, dict) or "label" not in e:
            raise ConfigError(f"compare[{k}]: expected a mapping with a label and design keys, got {e!r}")
        bad = sorted(set(e) - set(REQUEST_KEYS) - {"label"})
        if bad:
            raise ConfigError(f"compare[{k}].{bad[0]}: unknown key; allowed: label, {', '.join(REQUEST_KEYS)}")
        if model is not None and e.get("model", model) != model:
            continue
        base = {key: cfg[key] for key in INHERITED if key in cfg}
        batches = e.get("batch", 1)
        points = []
        for b in (batches if isinstance(batches, list) else [batches]):
            req = {**base, **{key: v for key, v in e.items() if key != "label"}, "batch": b}
            design = build_design(req)
            m = evaluate_jit(*design.specs).to_dict()
            points.append({"request": req, "metrics": m, "chips": m["chips"]})
        out.append({"label": str(e["label"]), "points": points})
    return out
