"""``codesign pareto``: the Pareto front of CONFIG's ``pareto:`` metrics (2 or 3).

    codesign pareto CONFIG --out DIR [--points N] [--budget N] [--seed S] [--json] [--quiet]

Writes DIR/front.csv and DIR/front.parquet (one row per non-dominated design: variant,
variables and every exact metric), DIR/front.png (log-log; reference designs from the
config's ``compare:`` block marked) and DIR/summary.json (hypervolume, evaluations, wall
time). Exit 2 on bad input or when no feasible design is found.
"""
from ..config import load_experiment
from ..workflows import run_pareto
from ..workflows.serve_search import is_serve_search
from . import serve_cmd
from ._common import print_json
from ._progress import ProgressPrinter


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
    p.set_defaults(func=run)


def run(args):
    cfg = load_experiment(args.config)
    if is_serve_search(cfg):  # a `serve:` config: a front of two serving objectives by simulation
        return serve_cmd.run_search(args, cfg, pareto=True)
    progress = None if args.quiet else ProgressPrinter("pareto")
    res = run_pareto(cfg, args.out, args.points, args.budget, args.seed, progress,
                     name=args.config)
    summary, rows, fr = res.summary, res.rows, res.front
    if args.json:
        print_json({**summary, "front": rows})
        return 0
    print(f"Pareto fronts of {' vs '.join(fr.metrics)}: {len(rows)} designs ({int(fr.overall.sum())} on the joint "
          f"front of all variants) from {fr.pool_size:,} feasible "
          f"evaluated, {fr.evals:,} evaluations, {fr.wall_s:.1f} s; hypervolume {fr.hypervolume:.4g} (log space)")
    for r in rows[:: max(1, len(rows) // 12)]:
        vals = ", ".join(f"{m} {r['metric.' + m]:.4g}" for m in fr.metrics)
        label = " ".join(v for k, v in r.items() if k.startswith("variant."))
        vars_ = ", ".join(f"{n.split('.')[-1]}={r[n]:.4g}" for n in res.problem.space.names)
        print(f"  {label} {vars_}: {vals}")
    print(f"wrote {summary['files']['csv']}, front.parquet, front.png, summary.json")
    return 0
