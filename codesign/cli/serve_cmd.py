"""``codesign serve``: a serving simulation of one config; the max rate meeting its SLOs; curves."""
import os

from ..workflows import configure_jax
from ..workflows.serve import curve, max_rate, run_serve, write_plots
from ._common import fmt, print_json
from ._progress import ProgressPrinter


def add_parser(sub):
    p = sub.add_parser("serve", help="simulate serving: arrivals, continuous batching, KV, TTFT/TPOT, goodput",
                       description="Simulate a serve config (configs/serving/*.yaml): one scenario's latency "
                                   "percentiles, throughput and goodput; --max-rate: the highest arrival rate "
                                   "meeting the SLOs at their percentile; --curve: tokens/s per chip vs tokens/s "
                                   "per user over arrival rates.")
    p.add_argument("config", help="serve config YAML (design or pools, arrivals, lengths, policy, slo)")
    p.add_argument("--rate", type=float, metavar="R", help="arrival rate, requests/s (overrides arrivals.rate_per_s)")
    p.add_argument("--requests", type=int, metavar="N", help="requests to simulate (overrides n_requests)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (overrides seed)")
    p.add_argument("--max-rate", action="store_true", dest="max_rate",
                   help="find the highest arrival rate meeting the SLOs (grids of rates, one vectorized call each)")
    p.add_argument("--curve", metavar="DIR", help="write DIR/curve.png and curve.csv (+ .parquet with pyarrow)")
    p.add_argument("--plot", metavar="DIR", help="write DIR/timeseries.png and DIR/latency.png of the scenario")
    p.add_argument("--json", action="store_true", help="machine-readable output (SI units, strict JSON)")
    p.set_defaults(func=run)


def run(args):
    configure_jax()  # persistent compile cache: a second run skips compiling
    over = {"rate_per_s": args.rate, "n_requests": args.requests, "seed": args.seed}
    progress = None if args.json else ProgressPrinter("serve")
    out = {}
    if args.max_rate:
        if args.rate is not None:
            from ..errors import ConfigError  # noqa: PLC0415

            raise ConfigError("--rate and --max-rate: the max-rate search chooses the rate; give one of them")
        out["max_rate"] = max_rate(args.config, n_requests=args.requests, seed=args.seed,
                                   progress=ProgressPrinter("max-rate") if not args.json else None)
    if args.curve:
        out["curve"] = curve(args.config, args.curve, n_requests=args.requests, seed=args.seed,
                             progress=ProgressPrinter("curve") if not args.json else None)
    if not out or args.plot:
        out["scenario"] = run_serve(args.config, progress=progress, series=bool(args.plot), **over)
        if args.plot:
            out["scenario"]["plots"] = write_plots(out["scenario"], args.plot)
            out["scenario"].pop("per_request", None)
            out["scenario"].pop("iterations", None)
    if args.json:
        print_json(out if len(out) > 1 else next(iter(out.values())))
        return 0
    if "scenario" in out:
        print_scenario(out["scenario"])
    if "max_rate" in out:
        print_max_rate(out["max_rate"])
    if "curve" in out:
        print_curve(out["curve"], args.curve)
    return 0


def _header(r):
    slo = r["slo"]
    name = f" ({slo['name']})" if slo["name"] else ""
    if "design" in r:
        d = r["design"]
        sys_line = (f"{d['model']} on {r['replicas']} x {d['hardware']} replica(s) of tp {d['tp']} x pp {d['pp']} "
                    f"({r['chips']} chips, weights {d['weight_dtype']}, KV {d['kv_dtype']}), router {r['router']}")
    else:
        p, d = r["prefill"], r["decode"]
        sys_line = (f"{d['model']}: prefill {p['hardware']} tp {p['tp']} x pp {p['pp']} -> decode {d['hardware']} "
                    f"tp {d['tp']} x pp {d['pp']} ({r['chips']} chips), link {fmt(r['link_bw_bytes_per_s'], 'B/s')}")
    print(r["title"] or sys_line)
    if r["title"]:
        print(f"  system       {sys_line}")
    pol = r["policy"]
    print(f"  policy       {pol['kind']}, {pol['max_slots']} slots, token budget {pol['token_budget']}, "
          f"KV pages of {pol['page_tokens']} tokens, preempt {pol['preempt']}")
    print(f"  SLO          TTFT <= {fmt(slo['ttft_s'], 's')}, TPOT <= {fmt(slo['tpot_s'], 's')} at p{slo['percentile']:g}{name}")
    print(f"  simulated    {r['simulated']}; {r['arrival']} arrivals")


def print_scenario(r):
    m = r["metrics"]
    _header(r)
    print(f"  rate         {r['rate_per_s']:.4g} requests/s; completed {m['completed']:.0f} of {m['requests']:.0f} "
          f"over {fmt(m['span_s'], 's')}")
    print("               mean       p50        p90        p99        at SLO pct")
    for key, label in (("ttft", "TTFT"), ("tpot", "TPOT"), ("itl", "ITL"), ("e2e", "end-to-end"), ("queue", "queueing")):
        vals = [m[f"{key}_{s}_s"] for s in ("mean", "p50", "p90", "p99", "slo")]
        print(f"  {label:<12} " + " ".join(f"{fmt(v, 's'):<10}" for v in vals))
    print(f"  throughput   {m['output_tokens_per_s']:,.0f} output tokens/s ({r['output_tokens_per_s_per_chip']:,.1f} "
          f"per chip), {m['total_tokens_per_s']:,.0f} total tokens/s, {m['requests_per_s']:.4g} requests/s")
    print(f"  goodput      {m['goodput_requests_per_s']:.4g} requests/s meeting both SLOs "
          f"({m['slo_attainment']:.1%} of requests); SLO {'MET' if m['slo_met'] else 'NOT MET'} at "
          f"p{r['slo']['percentile']:g}")
    print(f"  KV cache     {m['kv_utilization']:.1%} mean, {m['kv_peak_utilization']:.1%} peak; "
          f"{m['preemptions']:.0f} preemptions")
    print(f"  energy       {m['joules_per_token_chip']:.3g} J/token (chips), {m['joules_per_token_node']:.3g} J/token (node)")
    if "warning" in r:
        print(f"  WARNING      {r['warning']}")
    for f in r.get("plots", []):
        print(f"  plot         {f}")


def print_max_rate(r):
    if "scenario" not in r:
        _header(r)
    lo, hi = r["bracket_per_s"]
    print(f"  max rate     {r['max_rate_per_s']:.4g} requests/s meeting the SLOs (bracket {lo:.4g} .. {hi:.4g}; "
          f"closed-form capacity {r['closed_form_capacity_per_s']:.4g})")
    print(f"               = {r['output_tokens_per_s']:,.0f} output tokens/s ({r['output_tokens_per_s_per_chip']:,.1f} "
          f"per chip) at {r['mean_output_tokens']:.4g} output tokens per request; goodput "
          f"{r['goodput_requests_per_s']:.4g} requests/s; {r['evaluations']} scenarios in {r['calls']} vectorized calls, "
          f"{r['wall_s']:.1f} s")
    at = r["at_max_rate"]
    if at:
        print(f"               there: TTFT {fmt(at['ttft_slo_s'], 's')}, TPOT {fmt(at['tpot_slo_s'], 's')} at the SLO "
              f"percentile; KV {at['kv_utilization']:.1%} mean")


def print_curve(r, out_dir):
    print(f"curve: {len(r['rows'])} rates")
    print("  rate/s     concurrency  tok/s/user  tok/s/chip  SLO")
    for row in r["rows"]:
        print(f"  {row['rate_per_s']:<10.4g} {row['concurrency']:<12.4g} {row['tokens_per_s_per_user']:<11.4g} "
              f"{row['output_tokens_per_s_per_chip']:<11.4g} {'met' if row['slo_met'] else '-'}")
    for f in r["files"]:
        print(f"  wrote {os.path.relpath(f) if not os.path.isabs(out_dir) else f}")


def run_search(args, cfg, pareto: bool) -> int:
    """``codesign optimize|pareto`` of a serve-search config (:mod:`codesign.workflows.serve_search`)."""
    from ..config.writing import write_json  # noqa: PLC0415
    from ..workflows.serve_search import run_serve_search  # noqa: PLC0415

    configure_jax()
    progress = None if args.json or args.quiet else ProgressPrinter("serve search")
    out = run_serve_search(cfg, pareto, args.budget, args.seed, progress, name=args.config,
                           base_dir=os.path.dirname(os.path.abspath(args.config)))
    if pareto:
        os.makedirs(args.out, exist_ok=True)
        out["files"] = [os.path.join(args.out, "serve_front.json")]
        write_json(out["files"][0], out)
    if not out["feasible"]:
        from ..errors import ConfigError  # noqa: PLC0415

        why = out["infeasible"][0]["reason"] if out["infeasible"] else "no candidate"
        raise ConfigError(f"infeasible: no candidate could be served; first: {why}")
    if args.json:
        print_json(out)
        return 0
    names = list(out["objectives"])
    print(f"{out['method']} search (gradient-free: {out['why_gradient_free']}) of {out['config']}: "
          f"{'; '.join(out['objectives'].values())}")
    print(f"  {out['evaluations']} candidates, {len(out['infeasible'])} skipped, {out['wall_s']:.1f} s")
    shown = out["front"] if pareto else out["designs"][: getattr(args, "top", None) or 5]
    for rank, d in enumerate(shown, 1):
        vars_ = ", ".join(f"{k}={v}" for k, v in d["variables"].items())
        vals = ", ".join(f"{n} {d['objectives'][n]:.4g}" for n in names)
        print(f"  #{rank} {vals}  [{vars_}]  max rate {d['max_rate_per_s']:.4g} req/s, {d['chips']} chips, "
              f"capex ${d['capex_usd']:,.0f}")
    for s in out["infeasible"][:5]:
        print(f"  skipped {s['variables']}: {s['reason']}")
    for f in out.get("files", []):
        print(f"  wrote {f}")
    return 0
