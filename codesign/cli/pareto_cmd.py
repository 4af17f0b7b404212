"""``codesign pareto``: the Pareto front of CONFIG's ``pareto:`` metrics (2 or 3).

    codesign pareto CONFIG --out DIR [--points N] [--budget N] [--seed S] [--json] [--quiet]

Writes DIR/front.csv and DIR/front.parquet (one row per non-dominated design: variant,
variables and every exact metric), DIR/front.png (log-log; reference designs from the
config's ``compare:`` block marked) and DIR/summary.json (hypervolume, evaluations, wall
time). Exit 2 on bad input or when no feasible design is found.
"""
import json
import os
import time

import numpy as np

from ..errors import ConfigError
from ..model import METRIC_NAMES
from ..objectives import parse_problem
from ..search.methods import make_hyper
from ..search.pareto import front
from ._common import print_json
from ._compare import evaluate_references
from ._progress import ProgressPrinter
from .optimize_cmd import EXTRA_KEYS, search_settings


def add_parser(sub):
    p = sub.add_parser("pareto", help="Pareto front of 2-3 metrics (vmapped scalarisations + ε-constraints)",
                       description="Search the Pareto front of CONFIG's `pareto:` metrics with the gradient "
                                   "searcher; write CSV, Parquet, PNG and a JSON summary to --out.")
    p.add_argument("config", help="experiment YAML with space, constraints and `pareto: [metric, metric(, metric)]`")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (created)")
    p.add_argument("--points", type=int, metavar="N", help="scalarisations per run (default 16)")
    p.add_argument("--budget", type=int, metavar="N", help="model evaluations in all (default: per search.budget)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the summary and the front as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run, method=None, top=None)


def front_rows(problem, fr) -> list[dict]:
    rows = []
    for v, x, m, o in zip(fr.variant, fr.x, fr.all_metrics, fr.overall):
        row = {f"variant.{k}": str(val) for k, val in problem.space.variants[int(v)].label.items()}
        row["on_joint_front"] = bool(o)
        row.update({n: float(xi) for n, xi in zip(problem.space.names, x)})
        row.update({f"metric.{k}": float(m[i]) for i, k in enumerate(METRIC_NAMES)})
        rows.append(row)
    return rows


def write_table(rows: list[dict], out_dir: str, stem: str = "front"):
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq
    table = pa.Table.from_pylist(rows) if rows else pa.table({})
    try:
        pq.write_table(table, os.path.join(out_dir, f"{stem}.parquet"))
        pcsv.write_csv(table, os.path.join(out_dir, f"{stem}.csv"))
    except OSError as e:
        raise ConfigError(f"cannot write to {out_dir!r}: {e}") from None


def run(args):
    t0 = time.perf_counter()
    from ._common import load_yaml_config
    cfg = load_yaml_config(args.config)
    problem = parse_problem(cfg, extra_keys=EXTRA_KEYS)
    if not 2 <= len(problem.pareto) <= 3:
        raise ConfigError(f"pareto: needs 2 or 3 metrics in the config (e.g. pareto: [usd_per_million_tokens, "
                          f"decode_tokens_per_s_per_user]); got {list(problem.pareto)}")
    st = search_settings(cfg, args)
    refs = evaluate_references(cfg, model=cfg.get("model"))
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out {args.out!r}: cannot create directory: {e}") from None
    hyper = make_hyper("gradient", **{"starts": 4, **st["hyper"]}) if st["method"] == "gradient" else None
    if hyper is None:
        raise ConfigError(f"pareto: search.method = {st['method']!r}; the front search uses: gradient")
    progress = None if args.quiet else ProgressPrinter("pareto", show_best=False)
    fr = front(problem, points=st["points"], budget=st["budget"], seed=st["seed"], hyper=hyper, progress=progress)
    if not len(fr.values):
        raise ConfigError(f"infeasible: no feasible design found in {fr.evals:,} evaluations; "
                          "run `codesign optimize` on the same config for the closest design")
    rows = front_rows(problem, fr)
    write_table(rows, args.out)
    png = os.path.join(args.out, "front.png")
    _plot(problem, fr, refs, png, cfg.get("title") or os.path.basename(args.config))
    summary = {"config": args.config, "metrics": list(fr.metrics), "points": len(rows),
               "joint_front_points": int(fr.overall.sum()), "hypervolume": fr.hypervolume,
               "hypervolume_space": "f_i = s_i ln(metric_i), s = +1 to minimise, -1 to maximise",
               "hypervolume_ref": fr.ref.tolist(), "evaluations": fr.evals, "pooled_feasible_designs": fr.pool_size,
               "wall_s": fr.wall_s, "total_wall_s": time.perf_counter() - t0,
               "files": {k: os.path.join(args.out, f"front.{k}") for k in ("csv", "parquet", "png")},
               "references": [{"label": r["label"], "points": [
                   {m: p["metrics"][m] for m in fr.metrics} | {"batch": p["metrics"]["batch"], "chips": p["chips"]}
                   for p in r["points"]]} for r in refs]}
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    if args.json:
        print_json({**summary, "front": rows})
    else:
        print(f"Pareto fronts of {' vs '.join(fr.metrics)}: {len(rows)} designs ({int(fr.overall.sum())} on the joint "
              f"front of all variants) from {fr.pool_size:,} feasible "
              f"evaluated, {fr.evals:,} evaluations, {fr.wall_s:.1f} s; hypervolume {fr.hypervolume:.4g} (log space)")
        for r in rows[:: max(1, len(rows) // 12)]:
            vals = ", ".join(f"{m} {r['metric.' + m]:.4g}" for m in fr.metrics)
            label = " ".join(v for k, v in r.items() if k.startswith("variant."))
            vars_ = ", ".join(f"{n.split('.')[-1]}={r[n]:.4g}" for n in problem.space.names)
            print(f"  {label} {vars_}: {vals}")
        print(f"wrote {summary['files']['csv']}, front.parquet, front.png, summary.json")
    return 0


def _plot(problem, fr, refs, path, title):
    from ..plots import plot_fronts
    xm, ym = fr.metrics[0], fr.metrics[1]
    fronts = []
    labels = [problem.space.variants[int(v)].label for v in fr.variant]
    keys = sorted({tuple(sorted(lb.items())) for lb in labels})
    for key in keys:
        sel = np.array([tuple(sorted(lb.items())) == key for lb in labels])
        name = ", ".join(str(v) for _, v in key) or "designs"
        c = fr.values[sel, 2] if len(fr.metrics) == 3 else None
        fronts.append((name, fr.values[sel][:, :2], c))
    ref_pts = [(r["label"], [(p["metrics"][xm], p["metrics"][ym]) for p in r["points"]]) for r in refs]
    plot_fronts(fronts, path, xm, ym, ref_pts, title, fr.metrics[2] if len(fr.metrics) == 3 else None)
