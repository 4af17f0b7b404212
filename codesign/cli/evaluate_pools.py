"""``codesign evaluate`` table of a two-pool (prefill + decode) design."""
from ._common import fmt


def _pool_line(name: str, p: dict) -> list[str]:
    fit = "fits" if p["fits"] else "DOES NOT FIT"
    lines = [f"  {name:<8}{p['hardware']}: chips {p['chips']} = tp {p['tp']} x pp {p['pp']} x dp {p['dp']} replicas, "
             f"batch {p['batch']}, nodes {p['nodes']}",
             f"          memory {fmt(p['memory_per_chip_bytes'], 'B')} of {fmt(p['memory_capacity_bytes'], 'B')} "
             f"{p['memory_tier']} per chip (weights {fmt(p['weight_bytes_per_chip'], 'B')}, KV "
             f"{fmt(p['kv_bytes_per_chip'], 'B')}): {fit}",
             f"          capacity {p['requests_per_s_capacity']:.4g} requests/s; busy {p['busy_fraction']:.1%} of the time; "
             f"power {fmt(p['power_w'], 'W')} ({p['power_share']:.1%}); TCO ${p['tco_usd']:,.0f} "
             f"({p['cost_share']:.1%}; capex {p['capex_share']:.1%}); {fmt(p['chip_power_w'], 'W')} per chip "
             f"(TDP {fmt(p['tdp_w'], 'W')})"]
    lines += [f"          chosen {k}: {why}" for k, why in p["chosen"].items()]
    if not p["buildable"]:
        lines.append(f"          NOT BUILDABLE: die {p['die_area_mm2']:.4g} mm2 exceeds the reticle ({p['reticle_mm2']:.4g} mm2)")
    return lines


def print_pools_table(r: dict):
    """Print the result of a two-pool evaluation (``kind: disaggregated``)."""
    pools, link = r["pools"], r["link"]
    print(f"{r['model']}: prefill on {pools['prefill']['hardware']}, decode on {pools['decode']['hardware']}  "
          f"(weights {r['weight_dtype']}, KV {r['kv_dtype']}, prompt {r['prompt_tokens']:.0f} + output "
          f"{r['output_tokens']:.0f} tokens)")
    print(f"  hardware  {r['hardware_values']}")
    for name in ("prefill", "decode"):
        for line in _pool_line(name, pools[name]):
            print(line)
    print(f"  link    {fmt(link['bw_bytes_per_s'], 'B/s')} per chip, latency {fmt(link['latency_s'], 's')}: "
          f"{fmt(link['bytes_per_request'], 'B')} of KV per request in {fmt(link['transfer_s'], 's')}; "
          f"busy {link['busy_fraction']:.1%}; power {fmt(link['power_w'], 'W')}")
    print(f"  system  {'fits' if r['fits'] else 'DOES NOT FIT'}; {r['chips']} chips; bottleneck: {', '.join(r['bottleneck'])}; "
          f"balanced split: {r['balanced_prefill_replicas']:.3g} prefill replicas for these decode replicas")
    print(f"  latency TTFT {fmt(r['ttft_s'], 's')} (prefill {fmt(r['prefill_s'], 's')} + transfer "
          f"{fmt(r['transfer_s'], 's')}); decode {fmt(r['decode_s_per_token'], 's')}/token = "
          f"{r['decode_tokens_per_s_per_user']:.1f} tokens/s per user")
    print(f"  throughput {r['throughput_tokens_per_s']:,.0f} output tokens/s ({r['requests_per_s']:.4g} requests/s)")
    print(f"  energy  {fmt(r['power_w'], 'W')} serving ({fmt(r['idle_power_w'], 'W')} idle), {r['joules_per_token']:.3g} "
          f"J/token (chip {r['joules_per_token_chip']:.3g}, facility {r['joules_per_token_facility']:.3g})")
    print(f"  money   capex ${r['capex_usd']:,.0f}, opex ${r['opex_usd_per_year']:,.0f}/year, TCO ${r['tco_usd']:,.0f}, "
          f"${r['usd_per_million_tokens']:.4g} per million tokens")
