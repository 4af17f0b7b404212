"""What the calibrated model says about each published Groq / Cerebras claim.

For every claim (Groq ~240-300 tokens/s per user on Llama-2-70B; "10x faster than GPUs";
1-3 J/token for Groq vs 10-30 J/token for GPUs; 305 chips, ~40x hardware cost and ~10x
energy cost at equal throughput; Cerebras' speeds) this script computes the model's
prediction with the calibrated presets (``codesign/presets/calibration/fitted.yaml``), the
uncalibrated presets and, where the claim is itself a fitted row, the leave-one-out
prediction; states the assumptions; and gives a verdict. It writes a Markdown report, a
CSV table and PNG plots into ``--out`` (default ``out/seed_claims/``).

    python experiments/seed_claims.py [--out DIR] [--steps N]

The calibration study (full fit + leave-one-out) is rerun here (about a minute) so that the
report's held-out numbers come from the same code as ``codesign calibrate``.
"""
import argparse
import sys
from pathlib import Path

import jax
import numpy as np

import codesign as cd
from codesign.calibration import fit as F
from codesign.calibration.study import run_study
from codesign.config.calibrated import load_fitted
from codesign.config.measurements import load_dataset
from codesign.errors import ConfigError
from codesign.model import serving
from codesign.model.cost import build_cost_usd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import seed_claims_report as report  # noqa: E402

#: Llama-2-70B scenarios: single-user claims as in codesign/data/measurements_mapping.yaml; throughput
#: comparisons at the MLPerf Llama-2-70B request shape (where the H100 throughput is validated).
USER = {"prompt_tokens": 1024, "output_tokens": 512}
MLPERF = {"prompt_tokens": 512, "output_tokens": 290}
GROQ = {"hardware": "groq-lpu-v1", "model": "llama-2-70b", "weight_dtype": "int8", "kv_dtype": "fp16",
        "tp": 8, "pp": 72}
H100 = {"hardware": "h100-sxm", "model": "llama-2-70b", "weight_dtype": "fp8", "kv_dtype": "fp8", "tp": 8}
H200 = H100 | {"hardware": "h200-sxm"}
CEREBRAS_8B = {"hardware": "cerebras-wse3", "model": "llama-3.1-8b", "weight_dtype": "bf16", "kv_dtype": "bf16",
               "tp": 1, "pp": 1} | USER
CEREBRAS_70B = CEREBRAS_8B | {"model": "llama-3.1-70b", "pp": 4}
NO_HOST = {"system": {"host_power_w": 0.0}}


def design(req: dict, calibrated: bool = True, batch: int = 1):
    return cd.build_design(req | {"calibrated": calibrated, "batch": batch})


def at(req, batch=1, calibrated=True) -> cd.Metrics:
    return cd.evaluate_jit(*design(req, calibrated, batch).specs)


def offline(req, calibrated=True) -> serving.OperatingPoint:
    return serving.offline_jit(*design(req, calibrated).specs)


def sweep(req, batches, calibrated=True) -> dict:
    """Metrics at each batch in ``batches`` (one compiled vmap); fits recorded."""
    chip, system, w, m, sc = design(req, calibrated).specs
    b = np.asarray(batches, float)
    ms = cd.Mapping(tp=np.full_like(b, float(m.tp)), pp=np.full_like(b, float(m.pp)), ep=np.ones_like(b),
                    dp=np.ones_like(b), batch=b)
    r = jax.jit(jax.vmap(lambda mm: cd.evaluate(chip, system, w, mm, sc)))(ms)
    keys = ("batch", "fits", "decode_tokens_per_s_per_user", "throughput_tokens_per_s", "joules_per_token", "power_w")
    out = {k: np.asarray(getattr(r, k), float) for k in keys}
    out["user_with_prefill"] = out["throughput_tokens_per_s"] / b
    return out


def batch_grid(max_batch: float) -> np.ndarray:
    return np.unique(np.round(np.geomspace(1, max(max_batch, 1), 60)))


def study_predictions(steps: int) -> tuple[dict, dict]:
    """Leave-one-out and in-sample predictions of every fitted row, and the error summary."""
    data = load_dataset()
    problem = F.make_problem(data.cases)
    st = run_study(problem, steps=steps)
    ids = [c.row.id for c in problem.cases]
    rows = {i: {"measured": float(m), "in_sample": float(a), "loo": float(b), "holdout": float(h)}
            for i, m, a, b, h in zip(ids, st.measured, st.in_sample_pred, st.loo_pred, st.holdout_pred)}
    return rows, {"errors": st.errors(), "converged": st.full.converged, "message": st.full.message}


def claim_speed(rows) -> dict:
    cal, unc = at(GROQ | USER), at(GROQ | USER, calibrated=False)
    return {"calibrated": float(cal.decode_tokens_per_s_per_user),
            "uncalibrated": float(unc.decode_tokens_per_s_per_user),
            "loo_300": rows["groq_l2_70b_claim_300"]["loo"], "loo_241": rows["groq_l2_70b_aa_241"]["loo"],
            "breakdown_s": {k: float(getattr(cal, k)) for k in
                            ("decode_s_per_token", "decode_floor_s", "decode_comm_s", "decode_hops_s",
                             "decode_memory_s", "decode_compute_s")},
            "breakdown_uncal_s": {k: float(getattr(unc, k)) for k in ("decode_s_per_token", "decode_floor_s")}}


def claim_faster(groq_speed: float) -> dict:
    out = {"groq": groq_speed, "groq_uncal": float(at(GROQ | USER, calibrated=False).decode_tokens_per_s_per_user),
           "h100_b1_uncal": float(at(H100 | USER, calibrated=False).decode_tokens_per_s_per_user)}
    for name, req in (("h100_b1", H100), ("h200_b1", H200)):
        out[name] = float(at(req | USER).decode_tokens_per_s_per_user)
    srv = serving.server_jit(*design(H100 | MLPERF).specs, 0.2, with_prefill=True)
    out["h100_server"] = float(srv.tokens_per_s_per_user)
    out["h100_server_batch"] = float(srv.batch)
    sw = sweep(H100 | USER, batch_grid(float(offline(H100 | USER).batch)))
    ok = sw["fits"] > 0
    slower = sw["batch"][ok & (sw["user_with_prefill"] <= groq_speed / 10)]  # what a user sees, stalls included
    out["h100_batch_for_10x"] = float(slower.min()) if slower.size else float("nan")
    out["measured"] = {"MLPerf v4.0 8xH100 Server (1 / mean TPOT)": 7.31,
                       "ML.ENERGY 4xH100 bf16 batch 8": 60.4,
                       "LLMPerf GPU APIs, concurrency 5 (Bedrock..Anyscale)": (21.0, 66.0)}
    return out


def claim_energy() -> dict:
    out = {}
    for name, req in (("groq", GROQ | MLPERF), ("h100", H100 | MLPERF)):
        op = offline(req)
        b_max = float(op.batch)
        grid = batch_grid(b_max)
        out[name] = {"max_batch": b_max, "grid": sweep(req, grid), "grid_chips_only": sweep(req | NO_HOST, grid),
                     "b1": float(at(req).joules_per_token), "b1_chips_only": float(at(req | NO_HOST).joules_per_token),
                     "max": float(op.metrics.joules_per_token),
                     "max_chips_only": float(offline(req | NO_HOST).metrics.joules_per_token),
                     "b1_uncalibrated": float(at(req, calibrated=False).joules_per_token),
                     "max_uncalibrated": float(offline(req, calibrated=False).metrics.joules_per_token)}
    return out


def claim_cost() -> dict:
    g_req, h_req = GROQ | MLPERF, H100 | MLPERF
    g, h = offline(g_req), offline(h_req)
    g1 = at(g_req)
    kv4k = at(GROQ | {"prompt_tokens": 3584, "output_tokens": 512})
    chip = design(g_req).chip
    out = {"min_chips_weights": float(g1.min_chips_weights), "min_chips_kv_4k_b1": float(kv4k.min_chips),
           "groq_max_batch": float(g.batch), "h100_max_batch": float(h.batch),
           "groq_tput": float(g.metrics.throughput_tokens_per_s), "h100_tput": float(h.metrics.throughput_tokens_per_s),
           "groq_capex": float(g.metrics.capex_usd), "h100_capex": float(h.metrics.capex_usd),
           "groq_power": float(g.metrics.power_w), "h100_power": float(h.metrics.power_w),
           "groq_jpt": float(g.metrics.joules_per_token), "h100_jpt": float(h.metrics.joules_per_token),
           "groq_card_build_usd": float(build_cost_usd(chip)), "groq_card_price_usd": float(g.metrics.chip_price_usd),
           "groq_b1_tput": float(g1.throughput_tokens_per_s)}
    out["groq_tput_uncalibrated"] = float(offline(g_req, calibrated=False).metrics.throughput_tokens_per_s)
    out["h100_tput_uncalibrated"] = float(offline(h_req, calibrated=False).metrics.throughput_tokens_per_s)
    per_tput = lambda c, x: c / x  # noqa: E731  ($ per token/s)
    out["capex_ratio_equal_tput"] = per_tput(out["groq_capex"], out["groq_tput"]) / per_tput(out["h100_capex"], out["h100_tput"])
    out["capex_ratio_one_to_one"] = out["groq_capex"] / out["h100_capex"]
    out["capex_ratio_equal_tput_uncalibrated"] = (per_tput(out["groq_capex"], out["groq_tput_uncalibrated"])
                                                  / per_tput(out["h100_capex"], out["h100_tput_uncalibrated"]))
    nodes = 576 / 8
    build_capex = 576 * out["groq_card_build_usd"] + nodes * float(design(g_req).system.node_cost_usd)
    out["capex_ratio_equal_tput_build_cost"] = (build_capex / out["groq_tput"]) / per_tput(out["h100_capex"], out["h100_tput"])
    out["energy_ratio_equal_tput"] = out["groq_jpt"] / out["h100_jpt"]
    out["power_ratio_one_to_one"] = out["groq_power"] / out["h100_power"]
    out["groq_systems_per_h100_server"] = out["h100_tput"] / out["groq_tput"]
    return out


def claim_cerebras(rows) -> dict:
    out = {}
    for key, req, rid, claim in (("8b", CEREBRAS_8B, "cerebras_l31_8b", 1800.0),
                                 ("70b", CEREBRAS_70B, "cerebras_l3x_70b_2100", 2100.0)):
        cal, unc = at(req), at(req, calibrated=False)
        out[key] = {"claim": claim, "calibrated": float(cal.decode_tokens_per_s_per_user),
                    "uncalibrated": float(unc.decode_tokens_per_s_per_user), "loo": rows[rid]["loo"],
                    "floor_share": float(cal.decode_floor_s / cal.decode_s_per_token)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="out/seed_claims", help="output directory (default out/seed_claims)")
    ap.add_argument("--steps", type=int, default=1500, help="adam steps of the calibration study (default 1500)")
    args = ap.parse_args(argv)
    try:
        fitted = load_fitted()
        rows, study = study_predictions(args.steps)
        speed = claim_speed(rows)
        results = {"fitted": fitted, "study": study, "rows": rows, "speed": speed,
                   "faster": claim_faster(speed["calibrated"]), "energy": claim_energy(),
                   "cost": claim_cost(), "cerebras": claim_cerebras(rows)}
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        written = report.write(results, out)
    except ConfigError as e:
        print(f"seed_claims: error: {e}", file=sys.stderr)
        return 2
    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
