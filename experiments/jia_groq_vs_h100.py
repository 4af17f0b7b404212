"""Jia Yangqing's Groq-vs-H100 cost analysis (Feb 2024, Llama-2-70B): part 1 reproduces the
published arithmetic from Jia's inputs, part 2 redoes the comparison at equal throughput
with the full cost model. All computation is in :mod:`codesign.analysis.jia`; this script
loads the config, prints tables (or ``--json``, SI units) and writes a PNG chart.

    python experiments/jia_groq_vs_h100.py [CONFIG] [--json] [--out DIR]

Bad config: one line on stderr, exit code 2.
"""
import argparse
import sys
import textwrap
from pathlib import Path

from codesign.analysis import computed, published
from codesign.config import load_experiment, load_jia_config
from codesign.config.writing import dumps
from codesign.plots import new_figure
from codesign.errors import ConfigError

NAME = "jia_groq_vs_h100"
#: What the computed numbers rest on (the deployments are built from uncalibrated presets).
HARDWARE_VALUES = ("uncalibrated presets (stated physical constants, not fitted to measurements; "
                   "`codesign validate` compares them with published speeds)")
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "experiments" / f"{NAME}.yaml"


def run(cfg) -> dict:
    pub = published(cfg.published, cfg.groq.chip, cfg.groq.system, cfg.gpu.chip, cfg.gpu.system,
                    cfg.workload, cfg.scenario)
    return {"model": cfg.model, "published": pub,
            "computed": computed(cfg.deployments, cfg.comparisons, cfg.scenario),
            "hardware_values": HARDWARE_VALUES, "sources": cfg.sources}


def usd(x: float) -> str:
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"${x / div:,.{2 if div == 1e6 else 1}f}{suffix}"
    return f"${x:,.2f}"


def watts(x: float) -> str:
    return f"{x / 1e3:,.1f} kW" if x >= 1e3 else f"{x:,.0f} W"


def print_published(p: dict):
    c, m = p["claimed"], p["min_chips"]
    print("Part 1. As published (Jia Yangqing, Feb 2024): his inputs through codesign.model.cost")
    print(f"  minimum LPU chips for the weights alone at {p['weight_bytes_per_param']:g} B/param:")
    print(f"    model:     {p['model_params'] / 1e9:.3f}e9 params / {p['model_chip_memory_bytes'] / 1e6:.2f} MB "
          f"({p['model_chip_memory_bytes'] / 2**20:g} MiB) "
          f"= {m['model']['ratio']:.2f} -> {m['model']['chips']:.0f} chips")
    print(f"    published: {p['published_params'] / 1e9:.3f}e9 params / "
          f"{p['published_chip_memory_bytes'] / 1e6:.2f} MB = {m['published']['ratio']:.2f} -> "
          f"{m['published']['chips']:.0f} chips (claimed {c['min_chips']:.0f})")
    print(f"    why: {p['published_params'] / 1e9:g}e9 params instead of {p['model_params'] / 1e9:.2f}e9 adds "
          f"{m['published_params_model_chip']['ratio'] - m['model']['ratio']:.1f} chips; "
          f"{p['published_chip_memory_bytes'] / 1e6:g} MB instead of {p['model_chip_memory_bytes'] / 1e6:.2f} MB "
          f"per chip adds {m['model_params_published_chip']['ratio'] - m['model']['ratio']:.1f}")
    rows = [("hardware (capex)", usd(p["groq_capex_usd"]), usd(p["gpu_capex_usd"]), p["capex_ratio"],
             c["capex_ratio"]),
            ("IT power", watts(p["groq_power_w"]), watts(p["gpu_power_w"]), p["power_ratio"], None),
            (f"{p['lifetime_years']:g}-year energy cost", usd(p["groq_energy_usd"]), usd(p["gpu_energy_usd"]),
             p["energy_ratio"], c["energy_ratio"])]
    cards = f"{p['chips_costed']:.0f} LPU cards"
    print(f"  {'':22s}{cards:>17s}{'8xH100 server':>15s}{'ratio':>8s}   claimed")
    for name, g, h, r, claim in rows:
        print(f"  {name:22s}{g:>17s}{h:>15s}{r:>8.1f}x  {f'~{claim:g}x' if claim else ''}")
    print(f"  (${p['chip_price_usd']:,.0f} per card; energy at ${p['usd_per_kwh']:.3f}/kWh, PUE {p['pue']:g}; "
          f"claimed {usd(c['groq_energy_usd'])} vs {usd(c['gpu_energy_usd'])})")


_ROWS = (  # (row label, function of a deployment result -> text)
    ("weights / KV", lambda d: f"{d['weight_dtype']}/{d['kv_dtype']}"),
    ("chips (tp x pp)", lambda d: f"{d['chips']:.0f} ({d['tp']:.0f}x{d['pp']:.0f})"),
    ("batch", lambda d: f"{d['batch']:.0f}"),
    ("tokens/s per user", lambda d: f"{d['decode_tokens_per_s_per_user']:,.1f}"),
    ("throughput, tokens/s", lambda d: f"{d['throughput_tokens_per_s']:,.0f}"),
    ("power (serving)", lambda d: watts(d["power_w"])),
    ("J/token", lambda d: f"{d['joules_per_token']:.3g}"),
    ("capex", lambda d: usd(d["capex_usd"])),
    ("opex / year", lambda d: usd(d["opex_usd_per_year"])),
    ("TCO", lambda d: usd(d["tco_usd"])),
    ("$ / million tokens", lambda d: f"${d['usd_per_million_tokens']:,.3g}"),
)

_RATIOS = ("capex_ratio", "energy_ratio", "power_ratio", "tco_ratio", "usd_per_million_tokens_ratio",
           "tokens_per_s_per_user_ratio")


def _published_label(pub: dict) -> str:
    return f"published (Jia): {pub['chips_costed']:.0f} cards vs 1 server"


def print_computed(result: dict):
    comp, pub = result["computed"], result["published"]
    deps, sc = comp["deployments"], comp["scenario"]
    any_dep = next(iter(deps.values()))
    print(f"\nPart 2. Computed by the model: {result['model']}, prompt {sc['prompt_tokens']:.0f} + output "
          f"{sc['output_tokens']:.0f} tokens; presets' PUE {any_dep['pue']:g}, ${any_dep['usd_per_kwh']:g}/kWh, "
          f"{any_dep['lifetime_years']:g} years, utilization {any_dep['utilization']:g}")
    print(f"  hardware values: {HARDWARE_VALUES}")
    w = 14
    print(f"  {'':22s}" + "".join(f"{d['label']:>{w}s}" for d in deps.values()))
    for name, f in _ROWS:
        print(f"  {name:22s}" + "".join(f"{f(d):>{w}s}" for d in deps.values()))
    rules = "; ".join(f"{d['label']}: {d['batch_rule']}" for d in deps.values())
    print(textwrap.fill(f"batch rules: {rules}", 120, initial_indent="  ", subsequent_indent="    "))
    print("\n  Equal throughput: the Groq system vs n = ceil(T_Groq / T_server) GPU servers. Ratios Groq / GPU:")
    print("  capex, energy (cost over the lifetime), power (serving) and TCO of the whole fleet;")
    print("  $/Mtok per token; speed per user.")
    head = ("Groq tok/s", "n servers", "capex", "energy", "power", "TCO", "$/Mtok", "speed/user")
    print(f"  {'':38s}" + "".join(f"{h:>11s}" for h in head))
    print(f"  {_published_label(pub):38s}{'':>11s}{'1':>11s}{pub['capex_ratio']:>10.1f}x"
          f"{pub['energy_ratio']:>10.1f}x"
          f"{pub['power_ratio']:>10.1f}x" + f"{'-':>11s}" * 3)
    for c in comp["comparisons"]:
        n = f"{c['gpu_servers']:.0f} ({c['gpu_servers_exact']:.2f})"
        print(f"  {c['label'][:37]:38s}{c['groq_throughput_tokens_per_s']:>11,.0f}{n:>11s}"
              + "".join(f"{c[k]:>10.2f}x" for k in _RATIOS))



def plot(result: dict, out_dir: Path) -> Path:
    """Grouped bars (log scale): capex, lifetime energy cost and $/Mtok of the Groq system vs
    the GPU servers of equal throughput, for the published and each computed comparison;
    and the Groq / GPU ratios against Jia's claimed 40x and 10x."""
    pub, comp = result["published"], result["computed"]
    deps, comps = comp["deployments"], comp["comparisons"]
    groups = [_published_label(pub)] + [c["label"] for c in comps]
    groups = [textwrap.fill(g, 16) for g in groups]
    nan = float("nan")
    series = {
        "hardware cost (capex), $": ([pub["groq_capex_usd"]] + [deps[c["groq"]]["capex_usd"] for c in comps],
                                     [pub["gpu_capex_usd"]] + [c["gpu_fleet_capex_usd"] for c in comps]),
        f"energy cost over {pub['lifetime_years']:g} years, $": (
            [pub["groq_energy_usd"]] + [deps[c["groq"]]["energy_usd"] for c in comps],
            [pub["gpu_energy_usd"]] + [c["gpu_fleet_energy_usd"] for c in comps]),
        "$ per million tokens (TCO)": ([nan] + [deps[c["groq"]]["usd_per_million_tokens"] for c in comps],
                                       [nan] + [deps[c["gpu"]]["usd_per_million_tokens"] for c in comps]),
    }
    servers = [1.0] + [c["gpu_servers"] for c in comps]
    fig = new_figure(figsize=(14, 9.5))
    axes = fig.subplots(2, 2)
    x = range(len(groups))
    ylabels = ("capex, $ (log scale)", "energy cost, $ (log scale)", "$ per million output tokens (log scale)")
    for ax, ylabel, (title, (groq, gpu)) in zip(axes.flat, ylabels, series.items()):
        ax.bar([i - 0.2 for i in x], groq, 0.4, label="Groq LPU system", color="tab:orange")
        bars = ax.bar([i + 0.2 for i in x], gpu, 0.4, label="H100 servers of equal throughput (x n)",
                      color="tab:green")
        if "per million" in title:
            ax.text(0, 0.05, "n/a: no\nthroughput\npublished", ha="center", va="bottom", fontsize=8,
                    transform=ax.get_xaxis_transform())
        else:
            for b, n in zip(bars, servers):
                ax.annotate(f"x{n:.0f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                            ha="center", va="bottom", fontsize=8)
        ax.set_yscale("log")
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.set_xticks(list(x), groups, fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=2, bbox_to_anchor=(0.5, 0.935))
    ax = axes.flat[3]
    claimed = pub["claimed"]
    ratios = {"capex": [pub["capex_ratio"]] + [c["capex_ratio"] for c in comps],
              "energy cost": [pub["energy_ratio"]] + [c["energy_ratio"] for c in comps]}
    for k, (name, vals) in enumerate(ratios.items()):
        bars = ax.bar([i + (k - 0.5) * 0.4 for i in x], vals, 0.4, label=f"{name} ratio",
                      color=("tab:blue", "tab:red")[k])
        ax.bar_label(bars, fmt="%.1fx", fontsize=8)
    for key, color in (("capex_ratio", "tab:blue"), ("energy_ratio", "tab:red")):
        ax.axhline(claimed[key], color=color, ls="--", lw=1, label=f"claimed {claimed[key]:g}x")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_yscale("log")
    ax.set_ylim(0.5, 400)
    ax.set_title("Groq / H100 at equal throughput")
    ax.set_ylabel("ratio Groq / H100 (log scale)")
    ax.set_xticks(list(x), groups, fontsize=8)
    ax.legend(fontsize=8, ncol=2, loc="upper right")
    sc = comp["scenario"]
    fig.suptitle(f"{result['model']}: Groq LPU system vs H100 servers, as published and as computed "
                 f"(prompt {sc['prompt_tokens']:.0f} + output {sc['output_tokens']:.0f} tokens)\n"
                 "computed bars: uncalibrated presets (stated physical constants, not fitted to measurements)")
    dep = next(iter(deps.values()))
    fig.text(0.5, 0.005, f"Energy prices differ: the published bars use Jia's \\${pub['usd_per_kwh']:.3f}/kWh and "
                         f"PUE {pub['pue']:g}; the computed bars the presets' \\${dep['usd_per_kwh']:.4g}/kWh and PUE "
                         f"{dep['pue']:g}.", ha="center", va="bottom", fontsize=9)
    fig.tight_layout(rect=(0, 0.025, 1, 0.9))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{NAME}.png"
    fig.savefig(path, dpi=110)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", default=str(DEFAULT_CONFIG),
                        help=f"experiment config (default: configs/experiments/{NAME}.yaml)")
    parser.add_argument("--json", action="store_true", help="machine-readable results (SI units)")
    parser.add_argument("--out", default=f"out/{NAME}", help="directory for the PNG (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        result = run(load_jia_config(load_experiment(args.config)))
    except ConfigError as e:
        print(f"{NAME}: error: {e}", file=sys.stderr)
        return 2
    result["config"] = args.config
    result["plot_png"] = str(plot(result, Path(args.out)))
    if args.json:
        sys.stdout.write(dumps(result) + "\n")
    else:
        print_published(result["published"])
        print_computed(result)
        print(f"\nchart: {result['plot_png']}")
        print("next: open the chart (the only file written; tables are above, --json for machine-readable), "
              "then notebooks/01_groq_vs_h100.py for this analysis step by step (README.md, 'Five-minute tour')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
