"""``codesign presets``: list hardware and model presets with their key numbers."""
from ..workflows import presets
from ._common import fmt, print_json


def add_parser(sub):
    p = sub.add_parser("presets", help="list hardware and model presets with key numbers")
    p.add_argument("--json", action="store_true", help="machine-readable output (SI units)")
    p.set_defaults(func=run)


def run(args):
    out = presets()
    hw, models = out["hardware"], out["models"]
    if args.json:
        print_json(out)
        return 0
    print("Hardware presets")
    print(f"  {'name':16s} {'memory':>16s} {'bandwidth':>12s} {'TDP':>7s} {'price':>11s}  peak dense FLOP/s")
    for r in hw:
        peaks = ", ".join(f"{d} {fmt(v)}" for d, v in r["peak_flops_per_s"].items())
        print(f"  {r['name']:16s} {fmt(r['memory_bytes'], 'B') + ' ' + r['memory_kind']:>16s} "
              f"{fmt(r['memory_bw_bytes_per_s'], 'B/s'):>12s} {r['tdp_w']:6.0f}W "
              f"${r['market_price_usd']:>10,.0f}  {peaks}")
    print("\nModel presets")
    print(f"  {'name':16s} {'params':>9s} {'published':>10s} {'layers':>6s} {'d_model':>7s} {'experts':>7s} {'KV/token fp16':>14s}")
    for r in models:
        print(f"  {r['name']:16s} {fmt(r['params']):>9s} {fmt(r['published_params']):>10s} {r['layers']:6.0f} "
              f"{r['d_model']:7.0f} {r['n_experts']:7.0f} {fmt(r['kv_bytes_per_token_fp16'], 'B'):>14s}")
    print("\nEvery number's source is in codesign/presets/hardware/*.yaml and codesign/presets/models/*.yaml.")
    return 0
