"""``codesign optimize``: search a design space for the best feasible design.

    codesign optimize CONFIG [--method gradient|grid|random|cmaes] [--budget N] [--seed S]
                             [--top K] [--sensitivities] [--json] [--quiet]

CONFIG is an experiment YAML: the base design (hardware, model, dtypes, scenario), a
``space:``, an ``objective:``, ``constraints:`` and optionally a ``search:`` block with
method, budget, seed, top and per-method hyper-parameters (``gradient: {starts: 32}``).
Exit 0 with results; 2 on bad input, including a space with no feasible design (the
message names the constraint closest to being met and by how much).
"""
import math
import time

from ..errors import ConfigError
from ..objectives import parse_problem, sense
from ..search.methods import METHODS, optimize
from ._common import fmt, load_yaml_config, print_json
from ._progress import ProgressPrinter

#: Top-level config keys besides the problem's: search settings and experiment extras.
EXTRA_KEYS = ("search", "compare", "title")
SEARCH_KEYS = ("method", "budget", "seed", "top", "points") + tuple(METHODS)


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


def search_settings(cfg: dict, args=None) -> dict:
    """Merge the config's ``search:`` block with CLI flags, validated."""
    block = cfg.get("search") or {}
    if not isinstance(block, dict):
        raise ConfigError(f"search: expected a mapping with keys {', '.join(SEARCH_KEYS)}, got {block!r}")
    bad = sorted(set(block) - set(SEARCH_KEYS))
    if bad:
        raise ConfigError(f"search: unknown key {bad[0]!r}; allowed: {', '.join(SEARCH_KEYS)}")
    out = {"method": block.get("method", "gradient"), "budget": block.get("budget"), "seed": block.get("seed", 0),
           "top": block.get("top", 5), "points": block.get("points", 16)}
    for key in ("method", "budget", "seed", "top", "points"):
        if args is not None and getattr(args, key, None) is not None:
            out[key] = getattr(args, key)
    if out["method"] not in METHODS:
        raise ConfigError(f"search.method = {out['method']!r}; allowed: {', '.join(METHODS)}")
    if out["method"] == "grid" and (args is None or getattr(args, "budget", None) is None):
        out["budget"] = None  # the config's budget is for the sampling methods; the grid is exhaustive
    for key, lo in (("budget", 1), ("seed", 0), ("top", 1), ("points", 2)):
        v = out[key]
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < lo):
            raise ConfigError(f"{key} = {v!r}; allowed: an integer >= {lo}")
    hyper = block.get(out["method"]) or {}
    if not isinstance(hyper, dict):
        raise ConfigError(f"search.{out['method']}: expected a mapping of hyper-parameter: value")
    out["hyper"] = hyper
    return out


def objective_value(problem, objective: float) -> float:
    """The objective as the metric's own value for a single-metric objective."""
    (metric, weight), = problem.objective.terms if len(problem.objective.terms) == 1 else ((None, 1.0),)
    if metric is None:
        return objective
    return math.exp(sense(metric) * objective / weight)


def run(args):
    t0 = time.perf_counter()
    cfg = load_yaml_config(args.config)
    problem = parse_problem(cfg, extra_keys=EXTRA_KEYS)
    st = search_settings(cfg, args)
    unit = problem.objective.metrics[0] if len(problem.objective.terms) == 1 else "objective"
    progress = None if args.quiet else ProgressPrinter(
        st["method"], fmt_best=lambda b: f"{objective_value(problem, b):.5g} {unit}")
    result = optimize(problem, st["method"], st["budget"], st["seed"], progress, st["top"], **st["hyper"])
    out = {"config": args.config, "method": result.method, "objective": problem.objective.describe(),
           "constraints": list(problem.constraints.names), "variables": list(problem.space.names),
           "variants": len(problem.space.variants), "seed": st["seed"], "feasible": result.feasible,
           "evaluations": result.total_evals, "exact_evaluations": result.evals,
           "gradient_evaluations": result.grad_evals, "wall_s": result.wall_s}
    for d in result.designs:
        d["objective_value"] = objective_value(problem, d["objective"])
    out["designs"] = result.designs
    if not result.feasible:
        out["closest"] = result.closest
        out["total_wall_s"] = time.perf_counter() - t0
        if args.json:
            print_json(out)
        raise ConfigError(f"infeasible: {result.closest['message']}")
    if args.sensitivities:
        from ..search.sensitivity import at_optimum
        out["sensitivities"] = at_optimum(problem, result.best)
    out["total_wall_s"] = time.perf_counter() - t0
    if args.json:
        print_json(out)
    else:
        print_table(problem, out)
    return 0


def print_table(problem, r):
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
            print(f"  relaxing {c['constraint']} by 1%: objective {c['objective_change_pct_reoptimized']:+.2f}% "
                  f"re-optimised ({c['objective_change_pct_first_order']:+.2f}% first order, multiplier "
                  f"{c['multiplier']:.3g})")


def _num(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() and abs(v) < 1e6 else f"{v:.5g}"

