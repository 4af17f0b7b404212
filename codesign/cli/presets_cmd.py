"""``codesign presets``: list hardware and model presets with their key numbers."""
from ..config import hardware_names, load_hardware, load_model, model_names
from ..specs import DTYPES
from ..workload import kv_bytes_per_token, total_params
from ._common import fmt, print_json


def add_parser(sub):
    p = sub.add_parser("presets", help="list hardware and model presets with key numbers")
    p.add_argument("--json", action="store_true", help="machine-readable output (SI units)")
    p.set_defaults(func=run)


def hardware_rows():
    rows = []
    for name in hardware_names():
        hw = load_hardware(name)
        c, s = hw.chip, hw.system
        rows.append({
            "name": name, "summary": hw.summary, "memory_kind": c.memory_kind,
            "memory_bytes": float(c.memory_bytes), "memory_bw_bytes_per_s": float(c.memory_bw_bytes_per_s),
            "peak_flops_per_s": {d: float(c.flops_per_s(d)) for d in DTYPES if float(c.flops_per_s(d)) > 0},
            "tdp_w": float(c.tdp_w), "market_price_usd": float(c.market_price_usd),
            "chips_per_node": float(s.chips_per_node),
        })
    return rows


def model_rows():
    rows = []
    for name in model_names():
        md = load_model(name)
        w = md.workload()
        rows.append({"name": name, "summary": md.summary, "params": float(total_params(w)),
                     "published_params": md.published_params, "layers": md.dims["layers"],
                     "d_model": md.dims["d_model"], "n_experts": md.dims["n_experts"],
                     "kv_bytes_per_token_fp16": float(kv_bytes_per_token(w))})
    return rows


def run(args):
    hw, models = hardware_rows(), model_rows()
    if args.json:
        print_json({"hardware": hw, "models": models})
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
    print("\nEvery number's source is in configs/hardware/*.yaml and configs/models/*.yaml.")
    return 0
