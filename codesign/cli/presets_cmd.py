"""``codesign presets``: hardware grouped by vendor and generation, and models with their
architecture features (attention kind, experts, sliding window, expert format), key numbers."""
from ..workflows import presets
from ._common import fmt, print_json


def add_parser(sub):
    p = sub.add_parser("presets", help="list hardware (by vendor and generation) and model presets with key numbers")
    p.add_argument("--json", action="store_true", help="machine-readable output (SI units)")
    p.set_defaults(func=run)


def _domain(r) -> str:
    """The scale-up domain a tensor/expert-parallel group stays in: chips x topology."""
    return f"{r['chips_per_node']:.0f} x {r['intra_topology']}"


def _experts(r) -> str:
    if not r["n_experts"]:
        return "dense"
    out = f"{r['n_experts']:.0f} top-{r['experts_per_token']:.0f}"
    if r["n_shared_experts"]:
        out += f" +{r['n_shared_experts']:.0f} shared"
    return out


def _features(r) -> str:
    """The model's features beyond attention kind and experts (shown in their columns)."""
    return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in r["features"].items() if k not in ("attention", "experts"))


def run(args):
    out = presets()
    if args.json:
        print_json(out)
        return 0
    rows = {r["name"]: r for r in out["hardware"]}
    print("Hardware presets, by vendor and generation")
    print(f"    {'name':14s} {'memory':>16s} {'bandwidth':>12s} {'TDP':>7s} {'price':>11s} "
          f"{'scale-up':>15s}  peak dense FLOP/s")
    for group in out["hardware_groups"]:
        print(f"  {group['vendor'] or '(vendor not stated)'}")
        for gen in group["generations"]:
            year = f" ({gen['year']})" if gen["year"] else ""
            print(f"   {gen['generation'] or '(generation not stated)'}{year}")
            for name in gen["presets"]:
                r = rows[name]
                peaks = ", ".join(f"{d} {fmt(v)}" for d, v in r["peak_flops_per_s"].items())
                print(f"    {name:14s} {fmt(r['memory_bytes'], 'B') + ' ' + r['memory_kind']:>16s} "
                      f"{fmt(r['memory_bw_bytes_per_s'], 'B/s'):>12s} {r['tdp_w']:6.0f}W "
                      f"${r['market_price_usd']:>10,.0f} {_domain(r):>15s}  {peaks}")
    print("\nModel presets")
    print(f"  {'name':16s} {'params':>9s} {'active':>9s} {'published':>10s} {'layers':>6s} {'attention':>9s} "
          f"{'experts':>20s} {'KV/token fp16':>14s}  features")
    for r in out["models"]:
        print(f"  {r['name']:16s} {fmt(r['params']):>9s} {fmt(r['active_params']):>9s} "
              f"{fmt(r['published_params']):>10s} {r['layers']:6.0f} {r['attention']:>9s} {_experts(r):>20s} "
              f"{fmt(r['kv_bytes_per_token_fp16'], 'B'):>14s}  {_features(r)}")
    print("\nScale-up: chips in one node (the NVLink / ICI / C2C domain tensor and expert parallelism stay in).")
    print("Every number's source is in codesign/presets/hardware/*.yaml and codesign/presets/models/*.yaml.")
    return 0
