"""``codesign evaluate``: one design point, exact metrics, optional sensitivities."""
from ..config import load_experiment
import math

from ..workflows import evaluate_request, null_reasons
from ._common import fmt, print_json
from .evaluate_pools import print_pools_table

_SHOWN = 12  # sensitivities per metric in the table
_INT_FLAGS = ("chips", "tp", "pp", "ep", "dp", "prompt_tokens", "output_tokens", "prefill_chunk_tokens")


def add_parser(sub):
    p = sub.add_parser("evaluate", help="evaluate one design (hardware x model x mapping)",
                       description="Evaluate one design. Flags override the YAML CONFIG.")
    p.add_argument("config", nargs="?", help="YAML config with any of the flags below as keys")
    p.add_argument("--hardware", help="hardware preset (see `codesign presets`)")
    p.add_argument("--model", help="model preset (see `codesign presets`)")
    for flag in _INT_FLAGS:
        p.add_argument("--" + flag.replace("_", "-"), type=int, dest=flag, metavar="N")
    p.add_argument("--batch", help="sequences in flight per replica, or 'max' for the largest that fits")
    p.add_argument("--weight-dtype", dest="weight_dtype", metavar="D", help="fp16, bf16, fp8, int8 or fp4")
    p.add_argument("--kv-dtype", dest="kv_dtype", metavar="D", help="fp16, bf16, fp8, int8 or fp4")
    p.add_argument("--sram-mb", dest="sram_mb", type=float, metavar="X", help="SRAM per chip, MB (1e6 B)")
    p.add_argument("--utilization", type=float, metavar="U", help="fraction of time serving, (0, 1]")
    p.add_argument("--calibrated", action="store_true", default=None,
                   help="apply the fitted values of codesign/presets/calibration/fitted.yaml "
                        "(`codesign calibrate --update-shipped`)")
    p.add_argument("--energy-boundary", dest="energy_boundary", metavar="B",
                   help="boundary of joules_per_token: chip (accelerators only), node (with the hosts; default) "
                        "or facility (node x PUE)")
    p.add_argument("--interval", type=float, metavar="Q",
                   help="level of the interval given for every metric with --calibrated, in (0, 1) (default 0.8)")
    p.add_argument("--sensitivities", action="store_true",
                   help="add d ln(metric) / d ln(parameter) for every hardware parameter (jax.grad)")
    p.add_argument("--json", action="store_true", help="machine-readable output (SI units)")
    p.set_defaults(func=run)


def request_from_args(args) -> dict:
    """The YAML CONFIG's keys, overridden by the flags given."""
    req = load_experiment(args.config) if args.config else {}
    for key in ("hardware", "model", "weight_dtype", "kv_dtype", "sram_mb", "utilization", "calibrated",
                "energy_boundary", "interval", *_INT_FLAGS):
        if getattr(args, key) is not None:
            req[key] = getattr(args, key)
    if args.batch is not None:
        req["batch"] = args.batch
    return req


def run(args):
    out = evaluate_request(request_from_args(args), sensitivities=args.sensitivities)
    if args.json:
        print_json(out, null_reasons(out))
    elif out.get("kind") == "disaggregated":
        print_pools_table(out)
    else:
        print_table(out)
    return 0


def print_table(r):
    print(f"{r['model']} on {r['hardware']}  (weights {r['weight_dtype']}, KV {r['kv_dtype']}, "
          f"prompt {r['prompt_tokens']:.0f} + output {r['output_tokens']:.0f} tokens)")
    print(f"  hardware     {r['hardware_values']}")
    print(f"  mapping      chips {r['chips']} = tp {r['tp']} x pp {r['pp']} x dp {r['dp']}, ep {r['ep']}, "
          f"batch {r['batch']}, nodes {r['nodes']}")
    for k, why in r["chosen"].items():
        print(f"    chosen {k}: {why}")
    cap = r["memory_capacity_bytes"]
    print(f"  memory       {fmt(r['memory_per_chip_bytes'], 'B')} of {fmt(cap, 'B')} {r['memory_tier']} per chip "
          f"(weights {fmt(r['weight_bytes_per_chip'], 'B')}, KV {fmt(r['kv_bytes_per_chip'], 'B')}, "
          f"activations {fmt(r['act_bytes_per_chip'], 'B')})")
    if r["fits"]:
        print(f"               fits; min chips {r['min_chips']} (weights alone {r['min_chips_weights']}); "
              f"max batch at this mapping {r['max_batch']}")
    else:
        print(f"               DOES NOT FIT: {r['memory_tier']} overflows by {fmt(r['memory_overflow_bytes'], 'B')} "
              f"per chip; min chips {r['min_chips']} (weights alone {r['min_chips_weights']})")
    print(f"  decode       {fmt(r['decode_s_per_token'], 's')}/token = {r['decode_tokens_per_s_per_user']:.1f} tokens/s per user "
          f"(compute {fmt(r['decode_compute_s'], 's')}, memory {fmt(r['decode_memory_s'], 's')}, "
          f"op floors {fmt(r['decode_floor_s'], 's')}, collectives {fmt(r['decode_comm_s'], 's')}, "
          f"hops {fmt(r['decode_hops_s'], 's')})")
    print(f"  prefill      time to first token {fmt(r['ttft_s'], 's')}")
    print(f"  throughput   {r['throughput_tokens_per_s']:,.0f} output tokens/s")
    print(f"  energy       {fmt(r['power_w'], 'W')} serving ({fmt(r['idle_power_w'], 'W')} idle), "
          f"{r['joules_per_token']:.3g} J/token at the {r['energy_boundary']} boundary "
          f"(chip {r['joules_per_token_chip']:.3g}, node {r['joules_per_token_node']:.3g}, "
          f"facility {r['joules_per_token_facility']:.3g})")
    print(f"  silicon      die {r['die_area_mm2']:.4g} mm2 (reticle {r['reticle_mm2']:.4g} mm2), "
          f"yield {r['die_yield']:.1%}, die cost {_usd(r['die_cost_usd'])}, chip price {_usd(r['chip_price_usd'])}")
    if not r["buildable"]:
        u = r["unbuildable"]
        print(f"               NOT BUILDABLE: the die exceeds the reticle by {u['over_mm2']:.4g} mm2 "
              f"({u['ratio']:.3g}x the {u['reticle_mm2']:.4g} mm2 limit); prices below are not meaningful")
    print(f"  money        capex {_usd(r['capex_usd'])}, opex {_usd(r['opex_usd_per_year'])}/year, "
          f"TCO {_usd(r['tco_usd'])}, {_usd(r['usd_per_million_tokens'], '.4g')} per million tokens")
    if "intervals" in r:
        print_intervals(r["intervals"])
    if "sensitivities" in r:
        print("  sensitivities d ln(metric) / d ln(parameter), |value| >= 0.01:")
        for metric, row in r["sensitivities"].items():
            print(f"    {metric}: {sensitivity_line(row)}")


def print_intervals(iv: dict):
    """The interval of every metric that varies with the fitted values (the others are exact)."""
    if not iv["available"]:
        print(f"  intervals    {iv['reason']}")
        return
    print(f"  intervals    {iv['level']:.0%} (fitted values drawn from the calibration's posterior, "
          f"{iv['samples']} draws; speed, throughput and energy include the fit's residual scatter):")
    varying = {k: b for k, b in iv["bounds"].items() if b is not None and b[1] > b[0] * (1 + 1e-6)}
    for k, (lo, hi) in varying.items():
        print(f"    {k:32s} [{lo:.4g}, {hi:.4g}]")
    print(f"    other metrics do not depend on the fitted values (exact); not fitted: "
          f"{', '.join(iv['fixed_params']) or 'none'}")


def sensitivity_line(row: dict, shown: int = _SHOWN) -> str:
    """The ``shown`` largest |elasticities| >= 0.01 of one metric, whole names (never cut mid-name)."""
    top = [(p, v) for p, v in sorted(row.items(), key=lambda kv: -abs(kv[1])) if abs(v) >= 0.01]
    text = ", ".join(f"{p} {v:+.3f}" for p, v in top[:shown])
    more = f", ... {len(top) - shown} more (--json)" if len(top) > shown else ""
    return text + more or "(all below 0.01)"


def _usd(x: float, spec: str = ",.0f") -> str:
    return f"${x:{spec}}" if math.isfinite(x) else "no price (die not buildable)" if x > 0 else f"${x}"
