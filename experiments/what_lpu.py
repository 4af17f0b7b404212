"""What LPU would you build for Llama-2-70B?  (issue #3, experiment a)

Optimises SRAM per chip, the tensor x pipeline split (chip count) and the batch of an LPU for
the lowest $ per million output tokens at >= 300 tokens/s per user (config:
configs/experiments/what_lpu.yaml), then compares it with

* Groq v1's 230 MB chip with its best mapping (the same search without the SRAM variable),
* Groq v1 as deployed (576 chips, tp 8 x pp 72) at its cheapest batch meeting the constraint,
* 8x H100 and 8x H200 nodes at their cheapest batch (they cannot reach 300 tokens/s/user),

each scaled to serve the same load (the optimum's output tokens/s). Writes DIR/table.md,
DIR/results.json and DIR/sram_sweep.png (cheapest design at each SRAM size, exhaustive over
tp, pp and batch).

    python experiments/what_lpu.py [CONFIG] [--out DIR] [--budget N] [--seed S] [--json]
"""
import argparse
import copy
import math
import os
import sys
import time

import numpy as np

import matplotlib.ticker

from codesign.config import build_design, load_experiment, load_hardware
from codesign.config.writing import dumps, write_file, write_json
from codesign.errors import ConfigError
from codesign.plots import new_figure
from codesign.search import optimize
from codesign.search.evaluator import exact_batch
from codesign.search.sensitivity import at_optimum
from codesign.workflows import evaluate_references, parse_experiment_problem, search_settings

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CONFIG = os.path.join(HERE, "..", "configs", "experiments", "what_lpu.yaml")
KEYS = ("chips", "tp", "pp", "batch", "decode_tokens_per_s_per_user", "throughput_tokens_per_s", "ttft_s",
        "joules_per_token", "power_w", "capex_usd", "usd_per_million_tokens", "die_area_mm2", "chip_price_usd")


def row(label, metrics, sram_bytes, meets, note=""):
    r = {"design": label, "sram_mb_per_chip": sram_bytes / 1e6, "meets_constraints": bool(meets), "note": note}
    r.update({k: float(metrics[k]) for k in KEYS})
    return r


def meets(problem, metrics) -> bool:
    """The problem's metric bounds (the >= 300 tokens/s per user SLO) and memory fit."""
    ok = metrics["fits"] > 0
    for b in problem.constraints.bounds:
        v = metrics[b.metric]
        ok &= (b.lower is None or v >= b.lower * (1 - 1e-6)) and (b.upper is None or v <= b.upper * (1 + 1e-6))
    return bool(ok)


def reference_rows(problem, cfg):
    rows = []
    for ref in evaluate_references(cfg):
        pts = [p for p in ref["points"] if p["metrics"]["fits"] > 0]
        if not pts:
            continue
        good = [p for p in pts if meets(problem, p["metrics"])]
        pick = min(good or pts, key=lambda p: p["metrics"]["usd_per_million_tokens"])
        note = "" if good else (f"cannot meet the SLO: fastest {max(p['metrics']['decode_tokens_per_s_per_user'] for p in pts):.0f}"
                                " tokens/s/user; cheapest point shown")
        sram = float(build_design(pick["request"]).chip.sram_bytes)
        rows.append(row(ref["label"], pick["metrics"], sram, bool(good), note))
    return rows


def sram_sweep(problem, axes_num: int = 32):
    """Cheapest feasible design at each SRAM size of the grid (exhaustive over the rest)."""
    space = problem.space
    names = space.names
    axes = [np.asarray(v.grid_values(), float) for v in space.variables]
    i_s = names.index("chip.sram_bytes")
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(names))
    mat, obj, _, ok = exact_batch(problem, 0, mesh)
    best = []
    for s in axes[i_s]:
        sel = (mesh[:, i_s] == s) & ok
        best.append(float(np.exp(obj[sel].min())) if sel.any() else math.nan)
    return axes[i_s], np.array(best), len(mesh)


def plot(sram, best, rows, path, title, reticle_sram=None):
    fig = new_figure(figsize=(6.6, 4.4), layout="constrained")
    ax = fig.subplots()
    ok = np.isfinite(best)
    ax.plot(sram[ok] / 1e6, best[ok], "o-", ms=4, label="cheapest design at this SRAM size (grid over tp, pp, batch)")
    for r, m in zip(rows, "*sD^v"):
        if "H100" in r["design"] or "H200" in r["design"]:
            ax.axhline(r["usd_per_million_tokens"], ls=":", lw=1, color="gray")
            ax.annotate(f"{r['design']}: ${r['usd_per_million_tokens']:.2f} at "
                        f"{r['decode_tokens_per_s_per_user']:.0f} tok/s/user", (sram[ok].min() / 1e6,
                        r["usd_per_million_tokens"]), fontsize=7, va="bottom", color="dimgray")
            continue
        ax.plot(r["sram_mb_per_chip"], r["usd_per_million_tokens"], m, ms=10, mfc="white", mew=1.8,
                label=f"{r['design']}: ${r['usd_per_million_tokens']:.2f}/Mtok, {r['chips']:.0f} chips")
    if reticle_sram:
        ax.axvline(reticle_sram / 1e6, color="firebrick", lw=1, ls="--")
        ax.annotate("die = reticle (858 mm2)", (reticle_sram / 1e6, best[ok].min() * 0.75), rotation=90, fontsize=7,
                    color="firebrick", ha="right", va="top")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.set_xlabel("SRAM per chip (MB)")
    ax.set_ylabel("$ per million output tokens")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="upper right")
    fig.savefig(path, dpi=130)


def markdown(rows, load) -> str:
    head = ("| design | SRAM/chip | chips | tp x pp | batch | tok/s/user | tok/s (system) | J/token | $/Mtok "
            "| chips for the same load | capex for the same load | power for the same load |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        k = load / r["throughput_tokens_per_s"]
        lines.append(f"| {r['design']}{' (' + r['note'] + ')' if r['note'] else ''} | {r['sram_mb_per_chip']:.0f} MB "
                     f"| {r['chips']:.0f} | {r['tp']:.0f} x {r['pp']:.0f} | {r['batch']:.0f} "
                     f"| {r['decode_tokens_per_s_per_user']:.0f} | {r['throughput_tokens_per_s']:,.0f} "
                     f"| {r['joules_per_token']:.3g} | {r['usd_per_million_tokens']:.3g} | {k * r['chips']:,.0f} "
                     f"| ${k * r['capex_usd'] / 1e6:,.2f}M | {k * r['power_w'] / 1e3:,.1f} kW |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default=DEFAULT_CONFIG)
    ap.add_argument("--out", default="out/what_lpu")
    ap.add_argument("--budget", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        return run(args)
    except ConfigError as e:
        print(f"what_lpu: error: {e}", file=sys.stderr)
        return 2


def run(args) -> int:
    t0 = time.perf_counter()
    cfg = load_experiment(args.config)
    problem = parse_experiment_problem(cfg)
    st = search_settings(cfg, {"budget": args.budget, "seed": args.seed})
    res = optimize(problem, st["method"], st["budget"], st["seed"], top=st["top"], **st["hyper"])
    if not res.feasible:
        raise ConfigError(f"infeasible: {res.closest['message']}")
    best = res.best
    sens = at_optimum(problem, best)
    rows = [row("Optimised LPU (this search)", best["metrics"], best["variables"]["chip.sram_bytes"], True)]
    # Groq v1's 230 MB chip, best mapping: the same problem without the SRAM variable.
    cfg_v1 = copy.deepcopy(cfg)
    del cfg_v1["space"]["chip.sram_bytes"]
    p_v1 = parse_experiment_problem(cfg_v1)
    res_v1 = optimize(p_v1, st["method"], st["budget"], st["seed"], top=1, **st["hyper"])
    if res_v1.feasible:
        sram_v1 = float(load_hardware(cfg["hardware"]).chip.sram_bytes)
        rows.append(row("Groq v1 chip (230 MB), best mapping", res_v1.best["metrics"], sram_v1, True))
    rows += reference_rows(problem, cfg)
    load = rows[0]["throughput_tokens_per_s"]
    os.makedirs(args.out, exist_ok=True)
    sram, cheapest, grid_points = sram_sweep(problem)
    chip = load_hardware(cfg["hardware"]).chip
    reticle_sram = float((chip.reticle_mm2 - chip.die_area_fixed_mm2) * chip.sram_mb_per_mm2 * 1e6)
    plot(sram, cheapest, rows, os.path.join(args.out, "sram_sweep.png"), cfg.get("title", ""), reticle_sram)
    table = markdown(rows, load)
    out = {"config": args.config, "objective": problem.objective.describe(),
           "constraints": list(problem.constraints.names), "optimum": best,
           "search": {"method": res.method, "evaluations": res.total_evals, "wall_s": res.wall_s},
           "sensitivities": sens, "rows": rows, "same_load_tokens_per_s": load,
           "sram_sweep": {"sram_bytes": sram.tolist(), "cheapest_usd_per_mtok": cheapest.tolist(),
                          "grid_points": grid_points},
           "wall_s": time.perf_counter() - t0}
    write_json(os.path.join(args.out, "results.json"), out)  # strict JSON: NaN -> null + null_reasons
    write_file(os.path.join(args.out, "table.md"),
               f"# {cfg.get('title', 'what_lpu')}\n\n{table}\n\nSame load: {load:,.0f} output tokens/s "
               f"(the optimised LPU's throughput).\n")
    if args.json:
        sys.stdout.write(dumps(out) + "\n")
        return 0
    v = best["variables"]
    print(f"{cfg.get('title', '')}\n")
    print(f"Optimum ({res.method}, {res.total_evals:,} evaluations, {res.wall_s:.1f} s): "
          f"{v['chip.sram_bytes'] / 1e6:.0f} MB SRAM per chip, {best['metrics']['chips']:.0f} chips = tp "
          f"{v['mapping.tp']:.0f} x pp {v['mapping.pp']:.0f}, batch {v['mapping.batch']:.0f}, die "
          f"{best['metrics']['die_area_mm2']:.0f} mm2\n")
    print(table)
    print(f"\nSame load: {load:,.0f} output tokens/s.")
    top = [f"{p} {e:+.2f}" for p, e in sens["objective_elasticities"].items() if abs(e) >= 0.05][:8]
    print("\nElasticities of $/Mtok at the optimum (d ln / d ln): " + ", ".join(top))
    for c in sens["active_constraints"]:
        print(f"Relaxing {c['constraint']} by 1% changes $/Mtok by {c['objective_change_pct_reoptimized']:+.2f}% "
              f"(re-optimised; {c['objective_change_pct_first_order']:+.2f}% first order)")
    print(f"\nwrote {args.out}/table.md, results.json, sram_sweep.png ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
