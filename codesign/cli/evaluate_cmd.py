"""``codesign evaluate``: one design point, exact metrics, optional sensitivities."""
from ..config import build_design
from ..errors import ConfigError
from ..model import evaluate_jit
from ..model.sensitivity import elasticities
from ._common import fmt, load_yaml_config, print_json

_INT_FLAGS = ("chips", "tp", "pp", "ep", "dp", "prompt_tokens", "output_tokens", "prefill_chunk_tokens")
_INTEGER_METRICS = ("chips", "nodes", "tp", "pp", "ep", "dp", "batch", "min_chips", "min_chips_weights", "max_batch")


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
                   help="apply the fitted values of configs/calibration/fitted.yaml (`codesign calibrate`)")
    p.add_argument("--sensitivities", action="store_true",
                   help="add d ln(metric) / d ln(parameter) for every hardware parameter (jax.grad)")
    p.add_argument("--json", action="store_true", help="machine-readable output (SI units)")
    p.set_defaults(func=run)


def parse_batch(value):
    if value is None or value == "max":
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"batch = {value!r}; allowed: a positive integer or 'max'") from None


def request_from_args(args) -> dict:
    req = load_yaml_config(args.config) if args.config else {}
    for key in ("hardware", "model", "weight_dtype", "kv_dtype", "sram_mb", "utilization", "calibrated", *_INT_FLAGS):
        if getattr(args, key) is not None:
            req[key] = getattr(args, key)
    if args.batch is not None:
        req["batch"] = args.batch
    if isinstance(req.get("batch"), str):
        req["batch"] = parse_batch(req["batch"])
    return req


def result_dict(design, metrics) -> dict:
    out = {"hardware": design.hardware.name, "model": design.model.name,
           "weight_dtype": design.workload.weight_dtype, "kv_dtype": design.workload.kv_dtype,
           "prompt_tokens": float(design.scenario.prompt_tokens),
           "output_tokens": float(design.scenario.output_tokens)}
    m = metrics.to_dict()
    for k in _INTEGER_METRICS:
        m[k] = int(round(m[k]))
    m["fits"] = bool(m["fits"] > 0)
    out.update(m)
    out["memory_tier"] = design.chip.memory_kind
    if not out["fits"]:
        out["overflow"] = {"tier": design.chip.memory_kind, "bytes_per_chip": m["memory_overflow_bytes"],
                           "capacity_bytes": m["memory_capacity_bytes"]}
    out["chosen"] = design.chosen
    return out


def run(args):
    design = build_design(request_from_args(args))
    metrics = evaluate_jit(*design.specs)
    out = result_dict(design, metrics)
    if args.sensitivities:
        out["sensitivities"] = elasticities(*design.specs)
    if args.json:
        print_json(out)
    else:
        print_table(out)
    return 0


def print_table(r):
    print(f"{r['model']} on {r['hardware']}  (weights {r['weight_dtype']}, KV {r['kv_dtype']}, "
          f"prompt {r['prompt_tokens']:.0f} + output {r['output_tokens']:.0f} tokens)")
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
          f"{r['joules_per_token']:.3g} J/token")
    print(f"  silicon      die {r['die_area_mm2']:.0f} mm2, yield {r['die_yield']:.1%}, "
          f"die cost ${r['die_cost_usd']:,.0f}, chip price ${r['chip_price_usd']:,.0f}")
    print(f"  money        capex ${r['capex_usd']:,.0f}, opex ${r['opex_usd_per_year']:,.0f}/year, "
          f"TCO ${r['tco_usd']:,.0f}, ${r['usd_per_million_tokens']:.4g} per million tokens")
    if "sensitivities" in r:
        print("  sensitivities d ln(metric) / d ln(parameter), |value| >= 0.01:")
        for metric, row in r["sensitivities"].items():
            top = sorted(row.items(), key=lambda kv: -abs(kv[1]))
            shown = ", ".join(f"{p} {v:+.3f}" for p, v in top if abs(v) >= 0.01)[:400]
            print(f"    {metric}: {shown or '(all below 0.01)'}")
