"""Verdicts, table, Markdown report and plots for experiments/seed_claims.py (I/O edge)."""
import csv
import datetime

import numpy as np

from codesign.plots import new_figure

BAND = 0.2  # a prediction within 20% of a claim "matches" (LOO median errors are 16-18%)


def _within(pred, lo, hi, band=BAND):
    return lo * (1 - band) <= pred <= hi * (1 + band)


def _range_where(grid, key, lo, hi):
    ok = (grid["fits"] > 0) & (grid[key] >= lo) & (grid[key] <= hi)
    b = grid["batch"][ok]
    return (float(b.min()), float(b.max())) if b.size else None


def verdicts(r) -> list[dict]:
    """One row per claim: claimed, predicted (calibrated), uncalibrated, held-out, verdict."""
    s, f, e, c, cb = r["speed"], r["faster"], r["energy"], r["cost"], r["cerebras"]
    rows = []
    ok = _within(s["calibrated"], 240, 300) and _within(s["loo_300"], 240, 300)
    rows.append(dict(
        claim="Groq: ~240-300 tokens/s per user, Llama-2-70B", claimed="240-300 tok/s",
        predicted=f"{s['calibrated']:.0f} tok/s", uncalibrated=f"{s['uncalibrated']:.0f} tok/s",
        held_out=f"{s['loo_300']:.0f} (300 row held out), {s['loo_241']:.0f} (241 row held out)",
        assumptions="576 chips = tp 8 x pp 72, int8 weights, fp16 KV, batch 1, 1,024 + 512 tokens",
        verdict="holds" if ok else "does not hold",
        why=f"fitted to Groq's other published speeds (7B/8B and the other 70B row) the model predicts "
          f"{s['loo_300']:.0f} tok/s. From the datasheet alone (900 MHz, 464-cycle op pipeline) it predicts "
          f"{s['uncalibrated']:.0f}: the published speeds imply ~{s['calibrated_op_x']:.1f}x more latency per "
          f"dependent op than that arithmetic"))
    g_h100 = f["groq"] / f["h100_b1"]
    rows.append(dict(
        claim="Groq: '10x faster than GPUs' (per-user speed)", claimed="10x",
        predicted=f"{g_h100:.1f}x vs 8xH100 at batch 1; {f['groq'] / f['h100_server']:.0f}x vs 8xH100 at MLPerf-Server load",
        uncalibrated=f"{f['groq_uncal'] / f['h100_b1_uncal']:.1f}x vs 8xH100 at batch 1",
        held_out="-",
        assumptions="GPU: 8xH100 SXM, fp8, tp 8 (latency-optimised); H200: "
                    f"{f['groq'] / f['h200_b1']:.1f}x. Measured GPU speeds: 60 tok/s (4xH100 bf16, batch 8), "
                    "21-66 tok/s (LLMPerf APIs), 7.3 tok/s (MLPerf Server)",
        verdict="holds only if the GPU serves many users at once",
        why=f"the 8xH100 per-user speed falls to a tenth "
                f"of Groq's at batch >= {f['h100_batch_for_10x']:.0f}; against one 8xH100 server running one "
                f"user the model gives {g_h100:.1f}x (8xH200: {f['groq'] / f['h200_b1']:.1f}x)"))
    g_rng = _range_where(e["groq"]["grid"], "joules_per_token", 1.0, 3.0)
    h_rng = _range_where(e["h100"]["grid"], "joules_per_token", 10.0, 30.0)
    rows.append(dict(
        claim="Groq: 1-3 J/token vs 10-30 J/token for GPUs", claimed="1-3 vs 10-30 J/token",
        predicted=(f"Groq {e['groq']['max']:.1f} J/token at max batch ({e['groq']['b1']:.0f} at batch 1); "
                   f"8xH100 {e['h100']['max']:.2f} at max batch ({e['h100']['b1']:.0f} at batch 1)"),
        uncalibrated=f"Groq {e['groq']['max_uncalibrated']:.1f} / 8xH100 {e['h100']['max_uncalibrated']:.2f} J/token at max batch",
        held_out=f"GPU energy rows: LOO median error {r['study']['errors']['leave_one_out']['energy per token']['median_ape']:.0%}; Groq energy not calibrated (no measurement)",
        assumptions="IT energy incl. host CPUs (chips only in the energy plot); 512 + 290 tokens; "
                    "Groq power uses the preset's 30%-of-TDP static power (no Groq energy data)",
        verdict="holds only if Groq runs with its pipeline nearly full while the GPU serves one or two users",
        why=((f"Groq is at 1-3 J/token for batch {g_rng[0]:.0f}-{g_rng[1]:.0f}" if g_rng else "Groq never reaches 1-3 J/token")
             + (f", the 8xH100 at 10-30 J/token for batch {h_rng[0]:.0f}-{h_rng[1]:.0f}" if h_rng else ", the 8xH100 never at 10-30 J/token")
             + f"; each at its throughput point the GPU uses {e['groq']['max'] / e['h100']['max']:.1f}x less "
               f"energy per token than Groq")))
    rows.append(dict(
        claim="Jia: 305 Groq chips for Llama-2-70B (int8)", claimed="305 chips",
        predicted=f"{c['min_chips_weights']:.0f} (weights only); {c['min_chips_kv_4k_b1']:.0f} with one 4k-token KV cache",
        uncalibrated="same (capacity is not calibrated)", held_out="-",
        assumptions="220 MiB = 230.7 MB per chip; 68.98e9 parameters at 1 byte",
        verdict="holds", why="305 rounds 70e9 / 230e6; the exact count is 300 (576 deployed: KV cache, activations, spares)"))
    rows.append(dict(
        claim="Jia: ~40x hardware cost at equal throughput", claimed="40x",
        predicted=f"{c['capex_ratio_equal_tput']:.0f}x at equal throughput ({c['capex_ratio_one_to_one']:.0f}x one system vs one server)",
        uncalibrated=f"{c['capex_ratio_equal_tput_uncalibrated']:.0f}x at equal throughput",
        held_out=f"H100 throughput rows: LOO median error {r['study']['errors']['leave_one_out']['throughput']['median_ape']:.0%}; Groq throughput unmeasured",
        assumptions=(f"both at max batch (Groq 576 chips: batch {c['groq_max_batch']:.0f}, {c['groq_tput']:,.0f} tok/s; "
                     f"8xH100 fp8: batch {c['h100_max_batch']:.0f}, {c['h100_tput']:,.0f} tok/s); $20k per GroqCard, "
                     f"$27.5k per H100, node costs included"),
        verdict="holds only if GroqCards cost their $20k retail price",
        why=(f"the model gives {c['capex_ratio_equal_tput']:.0f}x; "
                 f"at the estimated build cost (${c['groq_card_build_usd']:,.0f} per card) it is "
                 f"{c['capex_ratio_equal_tput_build_cost']:.1f}x. The model credits a 576-chip system with "
                 f"{1 / c['groq_systems_per_h100_server']:.1f} H100 servers of throughput (pipelining: unmeasured)")))
    rows.append(dict(
        claim="Jia: ~10x energy cost at equal throughput", claimed="10x",
        predicted=f"{c['energy_ratio_equal_tput']:.1f}x at equal throughput ({c['power_ratio_one_to_one']:.1f}x power, one system vs one server)",
        uncalibrated=f"{e['groq']['max_uncalibrated'] / e['h100']['max_uncalibrated']:.1f}x at equal throughput",
        held_out="Groq energy not calibrated (no measurement)",
        assumptions=f"both at max batch; Groq {c['groq_power'] / 1e3:.0f} kW ({c['groq_power'] / 576:.0f} W per chip incl. hosts) vs 8xH100 {c['h100_power'] / 1e3:.1f} kW",
        verdict="does not hold",
        why=(f"{c['energy_ratio_equal_tput']:.1f}x at equal throughput; even crediting one Groq "
                 f"system with only one H100 server's throughput the power ratio is {c['power_ratio_one_to_one']:.1f}x "
                 f"(Jia's 10.6x assumes 185 W per card)")))
    for key, label in (("8b", "Cerebras: 1,800 tok/s, Llama-3.1-8B on 1 CS-3"),
                       ("70b", "Cerebras: 2,100 tok/s, Llama-3.1-70B on 4 CS-3")):
        x = cb[key]
        rows.append(dict(
            claim=label, claimed=f"{x['claim']:,.0f} tok/s", predicted=f"{x['calibrated']:,.0f} tok/s",
            uncalibrated=f"{x['uncalibrated']:,.0f} tok/s", held_out=f"{x['loo']:,.0f} tok/s (fitted on the other Cerebras row)",
            assumptions="bf16, batch 1, 1,024 + 512 tokens; 1 wafer (8B) or pp 4 over 4 wafers (70B)",
            **_cerebras_verdict(key, x)))
    return rows


def _cerebras_verdict(key, x) -> dict:
    if key == "8b":
        return {"verdict": "holds on the presets; not with the calibrated compromise",
                "why": f"the presets alone give {x['uncalibrated']:,.0f} tok/s ({x['uncalibrated'] / x['claim'] - 1:+.0%}); "
                       f"the calibrated {x['calibrated']:,.0f} is a compromise with the 70B claim, which no single "
                       f"per-op latency fits at the same time"}
    return {"verdict": "does not hold on the hardware model",
            "why": (f"at the per-op latency that reproduces the 8B figure it gives "
            f"{x['uncalibrated']:,.0f} tok/s (held out: {x['loo']:,.0f}); 80 layers over 4 wafers cannot be faster than 32 "
            f"layers on one unless the work per token changed (the Oct 2024 software update; the model has no "
            f"speculative decoding)")}


def write_csv(rows, path):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def plot_speed_throughput(r, path):
    e = r["energy"]
    fig = new_figure(figsize=(6.8, 4.6), layout="constrained")
    ax = fig.subplots()
    for name, label, color in (("groq", "Groq LPU, 576 chips (int8)", "C0"), ("h100", "8x H100 SXM (fp8, tp 8)", "C1")):
        g = e[name]["grid"]
        ok = g["fits"] > 0
        ax.plot(g["throughput_tokens_per_s"][ok], g["user_with_prefill"][ok], "-", color=color, label=label)
        ax.plot(g["throughput_tokens_per_s"][ok][0], g["user_with_prefill"][ok][0], "o", color=color)
    ax.axhspan(240, 300, color="C0", alpha=0.15, label="Groq claim 240-300 tok/s/user")
    ax.plot([20556.4], [7.31], "s", color="C1", mec="k", label="MLPerf v4.0 8xH100 Server (measured)")
    ax.plot([21805.8], [21805.8 / r["cost"]["h100_max_batch"]], "D", color="C1", mec="k",
            label="MLPerf v4.0 8xH100 Offline (measured tput)")
    ax.set(xscale="log", yscale="log", xlabel="system throughput (output tokens/s)",
           ylabel="per-user speed (tokens/s, prefill stalls included)",
           title="Llama-2-70B, calibrated: per-user speed vs throughput\n(batch 1, dot, to the largest batch that fits)")
    _finish(fig, ax, path)


def _finish(fig, ax, path):
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=130)


def plot_energy(r, path):
    e = r["energy"]
    fig = new_figure(figsize=(6.8, 4.6), layout="constrained")
    ax = fig.subplots()
    for name, label, color in (("groq", "Groq 576 chips", "C0"), ("h100", "8x H100", "C1")):
        for key, style, suffix in (("grid", "-", "incl. hosts"), ("grid_chips_only", "--", "chips only")):
            g = e[name][key]
            ok = g["fits"] > 0
            ax.plot(g["batch"][ok], g["joules_per_token"][ok], style, color=color, label=f"{label}, {suffix}")
    ax.axhspan(1, 3, color="C0", alpha=0.15, label="claim: Groq 1-3 J/token")
    ax.axhspan(10, 30, color="C3", alpha=0.12, label="claim: GPUs 10-30 J/token")
    ax.set(xscale="log", yscale="log", xlabel="batch (sequences in flight)", ylabel="energy per output token (J)",
           title="Llama-2-70B, calibrated: energy per token vs batch")
    _finish(fig, ax, path)


def plot_claims(r, path):
    s, f, c, cb = r["speed"], r["faster"], r["cost"], r["cerebras"]
    items = [("Groq 70B speed (300)", 300, s["calibrated"], s["uncalibrated"], s["loo_300"]),
             ("Groq 70B speed (241, API)", 241, s["calibrated"], s["uncalibrated"], s["loo_241"]),
             ("10x vs 8xH100, batch 1", 10, f["groq"] / f["h100_b1"], f["groq_uncal"] / f["h100_b1_uncal"], None),
             ("10x vs 8xH100, MLPerf Server load", 10, f["groq"] / f["h100_server"], None, None),
             ("Groq J/token (2, max batch)", 2, r["energy"]["groq"]["max"], r["energy"]["groq"]["max_uncalibrated"], None),
             ("GPU J/token (20, batch 1)", 20, r["energy"]["h100"]["b1"], r["energy"]["h100"]["b1_uncalibrated"], None),
             ("305 chips", 305, c["min_chips_weights"], c["min_chips_weights"], None),
             ("40x hardware cost", 40, c["capex_ratio_equal_tput"], c["capex_ratio_equal_tput_uncalibrated"], None),
             ("10x energy cost", 10, c["energy_ratio_equal_tput"],
              r["energy"]["groq"]["max_uncalibrated"] / r["energy"]["h100"]["max_uncalibrated"], None),
             ("Cerebras 8B 1,800", 1800, cb["8b"]["calibrated"], cb["8b"]["uncalibrated"], cb["8b"]["loo"]),
             ("Cerebras 70B 2,100", 2100, cb["70b"]["calibrated"], cb["70b"]["uncalibrated"], cb["70b"]["loo"])]
    fig = new_figure(figsize=(7.4, 5.2), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(items))[::-1]
    ax.axvspan(1 - BAND, 1 + BAND, color="0.88", label=f"within {BAND:.0%} of the claim")
    ax.axvline(1, color="k", lw=0.8)
    for yi, (_, claim, cal, unc, loo) in zip(y, items):
        ax.plot(cal / claim, yi, "o", color="C2", ms=7, label="calibrated" if yi == y[0] else None)
        if unc is not None:
            ax.plot(unc / claim, yi, "x", color="C7", ms=7, label="uncalibrated presets" if yi == y[0] else None)
        if loo is not None:
            ax.plot(loo / claim, yi, "^", color="C4", ms=6, label="claim row held out (LOO)" if yi == y[1] else None)
    ax.set_yticks(y, [i[0] for i in items], fontsize=8)
    ax.set(xscale="log", xlabel="model / claim", title="Published claims vs the model")
    ticks = [0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5, 10]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.grid(True, axis="x", lw=0.3, alpha=0.5)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4)
    fig.savefig(path, dpi=130)


def write(r, out) -> list:
    r["speed"]["calibrated_op_x"] = r["speed"]["breakdown_s"]["decode_floor_s"] / r["speed"]["breakdown_uncal_s"]["decode_floor_s"]
    rows = verdicts(r)
    paths = {"table": out / "seed_claims_table.csv", "speed": out / "seed_claims_speed_throughput.png",
             "energy": out / "seed_claims_energy.png", "claims": out / "seed_claims_overview.png",
             "md": out / "seed_claims.md"}
    write_csv(rows, paths["table"])
    plot_speed_throughput(r, paths["speed"])
    plot_energy(r, paths["energy"])
    plot_claims(r, paths["claims"])
    from seed_claims_markdown import markdown  # noqa: PLC0415
    paths["md"].write_text(markdown(r, rows, {k: p.name for k, p in paths.items()},
                                    datetime.date.today().isoformat()))
    return list(paths.values())
