"""``codesign optimize``: search a design space for the best feasible design.

    codesign optimize CONFIG [--method gradient|grid|random|cmaes] [--budget N] [--seed S]
                             [--top K] [--sensitivities] [--json] [--quiet]

CONFIG is an experiment YAML: the base design (hardware, model, dtypes, scenario), a
``space:``, an ``objective:``, ``constraints:`` and optionally a ``search:`` block with
method, budget, seed, top and per-method hyper-parameters (``gradient: {starts: 32}``).
Exit 0 with results; 2 on bad input, including a space with no feasible design (the
message names the constraint closest to being met and by how much).
"""
from ..config import load_experiment
from ..errors import ConfigError
from ..search.methods import METHODS
from ..workflows import objective_unit, parse_experiment_problem, run_optimize
from ..workflows.serve_search import is_serve_search
from . import serve_cmd
from ._common import fmt, print_json
from ._progress import ProgressPrinter


def add_parser(sub):
    p = sub.add_parser("optimize", help="search a design space (gradient, grid, random or CMA-ES)",
                       description="Find the best feasible design of CONFIG's space. Only exactly evaluated, "
                                   "feasible designs are reported.")
    p.add_argument("config", help="experiment YAML: space, objective, constraints, optional search block")
    p.add_argument("--method", choices=tuple(METHODS), help="searcher (default: search.method or gradient)")
    p.add_argument("--budget", type=int, metavar="N", help="model evaluations (gradient, random, cmaes)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default 0)")
    p.add_argument("--top", type=int, metavar="K", help="designs to report (default 5)")
    p.add_argument("--sensitivities", action="store_true",
                   help="elasticities of the objective and the worth of each active constraint at the best design")
    p.add_argument("--json", action="store_true", help="machine-readable output (SI units)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def run(args):
    cfg = load_experiment(args.config)
    if is_serve_search(cfg):  # a `serve:` config: goodput per $ / per kW by simulation (codesign serve)
        return serve_cmd.run_search(args, cfg, pareto=False)
    progress = None
    if not args.quiet:
        unit = objective_unit(parse_experiment_problem(cfg))
        progress = ProgressPrinter(best_unit=unit)
    out = run_optimize(cfg, args.method, args.budget, args.seed, args.top, args.sensitivities, progress,
                       name=args.config)
    if not out["feasible"]:
        if args.json:
            print_json(out)
        raise ConfigError(f"infeasible: {out['closest']['message']}")
    if args.json:
        print_json(out)
    else:
        print_table(out)
    return 0


def print_table(r):
    print(f"{r['method']} search of {r['config']}: {r['objective']}")
    print(f"  {r['evaluations']:,} model evaluations ({r['exact_evaluations']:,} exact, "
          f"{r['gradient_evaluations']:,} value+gradient), {r['wall_s']:.2f} s search, "
          f"{r['total_wall_s']:.2f} s total")
    for rank, d in enumerate(r["designs"], 1):
        m = d["metrics"]
        label = ", ".join(f"{k}={v}" for k, v in d["variant"].items())
        vars_ = ", ".join(f"{k.split('.')[-1]}={_num(v)}" for k, v in d["variables"].items())
        print(f"  #{rank} {_num(d['objective_value'])}  [{label}] {vars_}" if label else
              f"  #{rank} {_num(d['objective_value'])}  {vars_}")
        print(f"      chips {m['chips']:.0f}, {m['decode_tokens_per_s_per_user']:.1f} tokens/s/user, "
              f"{m['throughput_tokens_per_s']:,.0f} tokens/s, TTFT {fmt(m['ttft_s'], 's')}, "
              f"{m['joules_per_token']:.3g} J/token, {fmt(m['power_w'], 'W')}, capex ${m['capex_usd']:,.0f}, "
              f"${m['usd_per_million_tokens']:.4g}/Mtok, die {m['die_area_mm2']:.0f} mm2")
        tight = [f"{n} ({g:+.3f})" for n, g in d["constraints"].items() if g > -0.02 and n != "divisibility"]
        if tight:
            print(f"      active constraints (g near 0): {', '.join(tight)}")
    sens = r.get("sensitivities")
    if sens:
        top = [f"{p} {e:+.3f}" for p, e in sens["objective_elasticities"].items() if abs(e) >= 0.01][:10]
        print("  objective elasticities d J / d ln p (largest): " + ", ".join(top))
        for c in sens["active_constraints"]:
            first = ("no first-order estimate: the smooth model has no finite gradient here"
                     if c["multiplier"] is None else
                     f"{c['objective_change_pct_first_order']:+.2f}% first order, multiplier {c['multiplier']:.3g}")
            print(f"  relaxing {c['constraint']} by 1%: objective {c['objective_change_pct_reoptimized']:+.2f}% "
                  f"re-optimised ({first})")


def _num(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() and abs(v) < 1e6 else f"{v:.5g}"
