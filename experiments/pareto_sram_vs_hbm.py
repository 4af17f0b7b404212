"""Cost vs speed, SRAM-only vs HBM: Pareto fronts of $/Mtok vs decode tokens/s per user for
Llama-2-70B and Mixtral-8x7B (issue #3, experiment b).

For each model named in the config's ``compare:`` entries, the config's problem is re-run
with that model (pipeline stages capped at its layers) by :func:`codesign.search.pareto.front`:
one front per memory technology (the ``hardware`` variable), with Groq v1, 8x H100 and 8x H200
deployments marked. Writes DIR/front_<model>.csv / .parquet, DIR/fronts.png (one panel per
model) and DIR/summary.json.

    python experiments/pareto_sram_vs_hbm.py [CONFIG] [--out DIR] [--budget N] [--seed S] [--json]
"""
import argparse
import copy
import os
import sys
import time


from codesign.config import load_experiment, load_model
from codesign.config.writing import dumps, write_json
from codesign.errors import ConfigError
from codesign.plots import plot_fronts
from codesign.workflows import (evaluate_references, front_rows, parse_experiment_problem, search_front,
                                search_settings, write_table)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CONFIG = os.path.join(HERE, "..", "configs", "experiments", "pareto_sram_vs_hbm.yaml")


def model_config(cfg: dict, model: str) -> dict:
    c = copy.deepcopy(cfg)
    c["model"] = model
    layers = int(load_model(model).dims["layers"])
    pp = c["space"].get("mapping.pp")
    if isinstance(pp, dict) and "max" in pp:
        pp["max"] = min(pp["max"], layers)
    return c


def run(args) -> int:
    t0 = time.perf_counter()
    cfg = load_experiment(args.config)
    parse_experiment_problem(cfg)  # validate once as written
    st = search_settings(cfg, {"budget": args.budget, "seed": args.seed})
    models = list(dict.fromkeys(e.get("model", cfg["model"]) for e in cfg.get("compare") or [])) or [cfg["model"]]
    os.makedirs(args.out, exist_ok=True)
    panels, summary = [], {"config": args.config, "models": {}}
    for model in models:
        mc = model_config(cfg, model)
        problem = parse_experiment_problem(mc)
        fr = search_front(problem, st)
        rows = front_rows(problem, fr)
        write_table(rows, args.out, f"front_{model}")
        refs = evaluate_references(mc, model=model)
        fronts = []
        for v, variant in enumerate(problem.space.variants):
            sel = fr.variant == v
            name = variant.label.get("hardware", str(v))
            kind = "SRAM-only" if variant.specs[0].memory_kind == "sram" else "HBM"
            fronts.append((f"{kind}: {name} chip, searched", fr.values[sel], None))
        xm, ym = fr.metrics[0], fr.metrics[1]
        ref_pts = [(r["label"], [(p["metrics"][xm], p["metrics"][ym]) for p in r["points"] if p["metrics"]["fits"]])
                   for r in refs]
        panels.append((model, fronts, ref_pts))
        by_variant = {}
        for v, variant in enumerate(problem.space.variants):
            sel = fr.variant == v
            vals = fr.values[sel]
            by_variant[variant.label.get("hardware", str(v))] = {
                "points": int(sel.sum()),
                "usd_per_mtok_range": [float(vals[:, 0].min()), float(vals[:, 0].max())] if sel.any() else None,
                "tokens_per_s_per_user_range": [float(vals[:, 1].min()), float(vals[:, 1].max())] if sel.any() else None}
        summary["models"][model] = {
            "front_points": len(rows), "joint_front_points": int(fr.overall.sum()), "hypervolume": fr.hypervolume,
            "evaluations": fr.evals, "wall_s": fr.wall_s, "by_variant": by_variant,
            "references": [{"label": r["label"], "points": [{"batch": p["metrics"]["batch"],
                                                             xm: p["metrics"][xm], ym: p["metrics"][ym],
                                                             "fits": bool(p["metrics"]["fits"])}
                                                            for p in r["points"]]} for r in refs]}
    png = os.path.join(args.out, "fronts.png")
    plot_fronts([], png, "usd_per_million_tokens", "decode_tokens_per_s_per_user", panels=panels)
    summary["wall_s"] = time.perf_counter() - t0
    write_json(os.path.join(args.out, "summary.json"), summary)  # strict JSON: NaN -> null + null_reasons
    if args.json:
        sys.stdout.write(dumps(summary) + "\n")
        return 0
    print(cfg.get("title", ""))
    for model, s in summary["models"].items():
        print(f"\n{model}: {s['front_points']} designs on the per-technology fronts, {s['evaluations']:,} evaluations, "
              f"{s['wall_s']:.1f} s")
        for name, b in s["by_variant"].items():
            if b["points"]:
                print(f"  {name:12s} {b['points']:4d} designs: ${b['usd_per_mtok_range'][0]:.3g}..${b['usd_per_mtok_range'][1]:.3g}"
                      f"/Mtok, {b['tokens_per_s_per_user_range'][0]:.0f}..{b['tokens_per_s_per_user_range'][1]:.0f} "
                      "tokens/s/user")
        for r in s["references"]:
            pts = ", ".join(f"b{p['batch']:.0f}: ${p['usd_per_million_tokens']:.3g} @ {p['decode_tokens_per_s_per_user']:.0f}"
                            for p in r["points"] if p["fits"])
            print(f"  {r['label']}: {pts}")
    print(f"\nwrote {png}, front_<model>.csv/.parquet, summary.json ({summary['wall_s']:.1f} s)")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default=DEFAULT_CONFIG)
    ap.add_argument("--out", default="out/pareto_sram_vs_hbm")
    ap.add_argument("--budget", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        return run(args)
    except ConfigError as e:
        print(f"pareto_sram_vs_hbm: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
