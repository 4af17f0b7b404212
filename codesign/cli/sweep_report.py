"""Text reports of ``codesign sweep``: a finished run and ``--report DIR``."""
from ._common import fmt, print_json

_SHOW = ("usd_per_million_tokens", "decode_tokens_per_s_per_user", "throughput_tokens_per_s", "chips",
         "joules_per_token")


def _design(d) -> str:
    parts = [f"{k}={v}" for k, v in d["variant"].items()]
    parts += [f"{k.split('.')[-1]}={fmt(v)}" for k, v in d["design"].items()]
    return " ".join(parts)


def _metrics(d, names) -> str:
    return "  ".join(f"{n} {fmt(d['metrics'][n])}" for n in names)


def print_summary(s: dict, where: str, manifest: dict | None = None, limit: int = 5):
    sp = s["space"]
    state = "complete" if s["complete"] else "PARTIAL"
    print(f"Sweep {where}: {s['points']:,} of {s['target_points']:,} points ({state}); {sp['mode']} over "
          f"{len(sp['variants'])} variant(s) x {sp['points_per_variant']:,} points of {', '.join(sp['variables'])}")
    frac = s["feasible_fraction"]
    print(f"  feasible     {s['feasible']:,}" + (f" ({frac:.3%})" if frac is not None else ""))
    for c, n in s["violations"].items():
        if n:
            print(f"  violates     {c}: {n:,}")
    for name, recs in s["top_k"].items():
        print(f"  best by {name} ({len(recs)} kept, showing {min(limit, len(recs))}):")
        for r in recs[:limit]:
            val = r["objective"] if name == "objective" else r["metrics"][name]
            print(f"    {fmt(val):>10s}  #{r['index']}  {_design(r)}")
            print(f"                {_metrics(r, _SHOW)}")
    front = s["pareto"]["points"]
    if s["pareto"]["metrics"]:
        m = s["pareto"]["metrics"]
        print(f"  Pareto front of {' vs '.join(m)}: {len(front)} designs")
        step = max(1, len(front) // 12)
        for r in front[::step]:
            vals = "  ".join(f"{fmt(r['metrics'][k]):>10s}" for k in m)
            print(f"    {vals}  {_design(r)}")
    hist = s["histograms"]["metrics"]
    print("  metric ranges over feasible designs (5% / 50% / 95% bin upper edges):")
    for name in _SHOW:
        h = hist[name]["feasible"]
        if h["count"]:
            print(f"    {name:32s} {fmt(h['p05_upper']):>10s} {fmt(h['p50_upper']):>10s} {fmt(h['p95_upper']):>10s}")
    if manifest:
        run = manifest.get("last_run") or {}
        rate = run.get("points_per_s")
        print(f"  made by codesign {manifest['versions'].get('codesign')} (jax {manifest['versions'].get('jax')}), "
              f"git {manifest.get('git_commit') or 'unknown'}; last run "
              + (f"{fmt(rate)} points/s over {run.get('elapsed_s', 0):.1f} s" if rate else "(no timing)"))


def print_done(result: dict, elapsed: float, as_json: bool):
    s = result["summary"]
    if as_json:
        print_json({k: v for k, v in result.items() if k != "summary"} | {"summary": s})
        return
    rate = result["run_points"] / elapsed if elapsed > 0 else 0.0
    print(f"swept {result['run_points']:,} points in {elapsed:.1f} s ({fmt(rate)} points/s end to end, "
          f"{result['devices']} device(s), {result['processes']} process(es))")
    print_summary(s, result["dir"], limit=3)
    print(f"  full report and plot: codesign sweep --report {result['dir']}")
