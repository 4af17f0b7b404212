# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · What if the LPU had more SRAM? Gradients, what-ifs and shadow prices
#
# The cost model is differentiable, so an architect can ask *"what is one more MB of SRAM
# worth?"* directly, instead of re-running a spreadsheet. This notebook
#
# 1. takes `jax.grad` of $/Mtok with respect to every chip parameter, and the elasticities
#    d ln(metric) / d ln(parameter) (`cd.elasticities`) at a Groq LPU v1 deployment;
# 2. runs one-dimensional what-ifs — SRAM per chip, clock, chip-to-chip link bandwidth and
#    process node — with the mapping held fixed (`jax.vmap` over the chip);
# 3. re-optimises the design (`cd.run_optimize`) and reads the **shadow prices** of the
#    active constraints: what relaxing the speed floor or the memory limit by 1% is worth,
#    and where the optimum moves when the floor moves.

# %%
# %matplotlib inline
import dataclasses
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import yaml

import codesign as cd

ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "configs" / "experiments").is_dir())
SMALL = os.environ.get("CODESIGN_NOTEBOOK_SMALL") == "1"  # CI: smaller search budgets (stated below)
BUDGET = 1000 if SMALL else 8000  # model evaluations per re-optimisation

hw, md = cd.load_hardware("groq-lpu-v1"), cd.load_model("llama-2-70b")
w = md.workload(weight_dtype="int8", kv_dtype="int8")
m = cd.Mapping(tp=8.0, pp=72.0, ep=1.0, dp=1.0, batch=32.0)  # 576 chips, 32 sequences in flight
sc = cd.Scenario(2048.0, 256.0)
base = cd.evaluate_jit(hw.chip, hw.system, w, m, sc)
print(f"Groq v1, 576 chips, batch 32: {float(base.decode_tokens_per_s_per_user):.0f} tok/s/user, "
      f"${float(base.usd_per_million_tokens):.2f}/Mtok, fits: {bool(base.fits)}")

# %% [markdown]
# ## Gradients: dollars per unit of each parameter
#
# The smooth mode (`cd.SMOOTH`: p-norm maxima, relaxed ceilings) is what search
# differentiates; its value converges to the exact one. The gradient below is in the units of
# each field: $/Mtok per byte of SRAM, per Hz of clock, per byte/s of link bandwidth.

# %%
usd = lambda chip: cd.evaluate(chip, hw.system, w, m, sc, cd.SMOOTH).usd_per_million_tokens
g = jax.grad(usd)(hw.chip)
for field, unit, scale in (("sram_bytes", "per +100 MB", 1e8), ("clock_hz", "per +100 MHz", 1e8),
                           ("link_bw_bytes_per_s", "per +10 GB/s", 1e10),
                           ("sram_mb_per_mm2", "per +0.1 MB/mm2", 0.1)):
    print(f"d($/Mtok)/d {field:22s} {float(getattr(g, field)) * scale:+.4f} $/Mtok {unit}")

# %%
el = cd.elasticities(hw.chip, hw.system, w, m, sc)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
for ax, metric in zip(axes, ("usd_per_million_tokens", "decode_s_per_token")):
    top = sorted(el[metric].items(), key=lambda kv: -abs(kv[1]))[:10][::-1]
    ax.barh([k for k, _ in top], [v for _, v in top], color=["tab:red" if v > 0 else "tab:blue" for _, v in top])
    ax.axvline(0, color="k", lw=0.8)
    ax.set(xlabel="elasticity: % change per +1% of the parameter", title=metric)
    ax.tick_params(axis="y", labelsize=8)
fig.suptitle("Elasticities at Groq v1, 576 chips, batch 32 (exact model)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Cost per token is dominated by economics — utilization and lifetime (elasticity ≈ −1: the
# capex is spread over the tokens served) and the card's market price (≈ +0.9) — and then by
# the clock and the per-op pipeline depth. Time per token is set by the structure of the
# schedule: clock and pipeline cycles (the latency floor of a layer's dependent ops), then
# link latency. SRAM bandwidth barely matters: on an SRAM machine at moderate batch the
# streaming time is microseconds.
#
# ## One-dimensional what-ifs (mapping held fixed)
#
# Each curve evaluates the exact model for 64 values of one field, batched with `jax.vmap`.

# %%
batched = jax.jit(jax.vmap(lambda chip: cd.evaluate(chip, hw.system, w, m, sc)))  # one compile for all


def what_if(field, values):
    """Exact metrics with chip.<field> set to each of ``values`` (everything else as the preset)."""
    chips = jax.tree.map(lambda leaf: jnp.full(len(values), leaf, jnp.float32), hw.chip)
    return batched(dataclasses.replace(chips, **{field: jnp.asarray(values, jnp.float32)}))


cases = {"SRAM per chip, MB": ("sram_bytes", np.linspace(1.5e8, 1.5e9, 64), 1e-6),
         "clock, MHz": ("clock_hz", np.linspace(4e8, 1.6e9, 64), 1e-6),
         "C2C link bandwidth, GB/s": ("link_bw_bytes_per_s", np.geomspace(1e10, 1e12, 64), 1e-9)}
fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), sharex="col")
for k, (label, (field, vals, unit)) in enumerate(cases.items()):
    r = what_if(field, vals)
    fits = np.asarray(r.fits) > 0
    for row, (metric, ylabel) in enumerate((("decode_tokens_per_s_per_user", "tokens/s per user"),
                                            ("usd_per_million_tokens", "$ per million tokens"))):
        ax = axes[row, k]
        y = np.asarray(getattr(r, metric))
        ax.plot(vals * unit, np.where(fits, y, np.nan), "-", label="fits")
        ax.plot(vals * unit, np.where(fits, np.nan, y), ":", color="0.6", label="does not fit")
        ax.axvline(float(getattr(hw.chip, field)) * unit, color="tab:orange", lw=1, label="Groq v1")
        ax.set(ylabel=ylabel, xscale="log" if field == "link_bw_bytes_per_s" else "linear")
        if row == 1:
            ax.set(xlabel=label)
    axes[0, k].legend(fontsize=7)
fig.suptitle("What-ifs at Groq v1, 576 chips (tp 8 × pp 72), batch 32, int8 weights and KV")
fig.tight_layout()
plt.show()

# %% [markdown]
# * **SRAM**: below the capacity that holds the weights plus 32 sequences of KV cache, the
#   design does not fit (dotted); above it, more SRAM only adds die area, so $/Mtok rises
#   with the chip's build cost while the speed is unchanged. At a *fixed* mapping SRAM is a
#   pure cost — its value appears only when the mapping can use it (fewer chips, more batch),
#   which is what the re-optimisation below captures.
# * **Clock**: the latency floor is cycles / clock, so speed rises with the clock, and with it
#   the tokens each chip-hour serves; the model also charges dynamic energy ∝ V² ∝ clock².
# * **Links**: the two all-reduces per layer have a latency and a bandwidth term; the curve
#   shows where the bandwidth term stops mattering and link latency takes over.
#
# ## Process node (illustrative assumptions)
#
# The model has no "node" field: a node is a set of chip parameters that move together. The
# numbers below are **assumptions for illustration**, not presets: SRAM density and logic area
# scaled by published HD bit-cell areas (14 nm ~0.080 µm², N7 0.027, N5 0.021), wafer costs
# from CSET "AI Chips" (2020), energy per FLOP halving per full node.

# %%
nodes = {  # name: (SRAM MB/mm2, logic area scale, wafer $, pJ/FLOP scale)
    "14 nm (preset)": (1.3, 1.00, 3984.0, 1.0),
    "7 nm": (1.3 * 0.080 / 0.027, 0.40, 9346.0, 0.5),
    "5 nm": (1.3 * 0.080 / 0.021, 0.28, 16988.0, 0.35),
}
chips = {name: dataclasses.replace(hw.chip, sram_mb_per_mm2=d, die_area_fixed_mm2=hw.chip.die_area_fixed_mm2 * a,
                                   wafer_cost_usd=c, pj_per_flop_16bit=hw.chip.pj_per_flop_16bit * e)
         for name, (d, a, c, e) in nodes.items()}
res = {name: cd.evaluate_jit(c, hw.system, w, m, sc) for name, c in chips.items()}
fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
for ax, (metric, label) in zip(axes, (("die_area_mm2", "die area, mm²"), ("chip_price_usd", "chip price, $"),
                                      ("joules_per_token", "J per token"))):
    ax.bar(list(res), [float(getattr(r, metric)) for r in res.values()], color="tab:purple")
    ax.set(title=label)
    ax.tick_params(axis="x", labelsize=8)
fig.suptitle("The same 230 MB chip at three nodes (market price + 4 × change in build cost)")
fig.tight_layout()
plt.show()
for name, r in res.items():
    print(f"{name:15s} die {float(r.die_area_mm2):6.0f} mm2, yield {float(r.die_yield):.2f}, "
          f"price ${float(r.chip_price_usd):,.0f}, ${float(r.usd_per_million_tokens):.2f}/Mtok")

# %% [markdown]
# A shrink makes the die 2.6–3.6× smaller and the yield higher but the wafer dearer. Anchored
# to Groq's $20k market price, the change in build cost is ~1% of the card, and energy per
# token falls only a few % because static power (held fixed here) dominates it. What would
# move dollars is a denser SRAM letting fewer chips hold the model — a question for the
# optimiser.
#
# ## Shadow prices at the optimum
#
# `configs/experiments/what_lpu.yaml` asks for the lowest $/Mtok LPU for Llama-2-70B with
# every user at ≥ 300 tokens/s, searching SRAM per chip, tp, pp and batch. With
# `sensitivities=True` the report carries, for each active constraint, its KKT multiplier
# and the re-optimised value of relaxing it by 1%. (CI: budget 1,000 evaluations; full: 8,000.)

# %%
cfg = yaml.safe_load((ROOT / "configs/experiments/what_lpu.yaml").read_text())
best = cd.run_optimize(cfg, budget=BUDGET, seed=0, sensitivities=True)
d = best["designs"][0]
print("best:", {k: round(v, 1) for k, v in d["variables"].items()}, f"-> ${d['objective_value']:.3f}/Mtok")
for row in best["sensitivities"]["active_constraints"]:
    print(f"relax {row['constraint']:38s} by 1%: {row['objective_change_pct_first_order']:+.2f}% first order, "
          f"{row['objective_change_pct_reoptimized']:+.2f}% re-optimised")

# %% [markdown]
# The speed floor is *not* active: uncalibrated, the LPU runs at ~800 tokens/s per user, far
# above 300. What binds is memory (weights + KV cache must fit) and the **reticle**: the
# optimiser wants more SRAM per chip — fewer chips, more sequences in flight — until the die
# reaches the 858 mm² lithography field, and a 1% larger field would be worth a few % of
# $/Mtok. Raising the floor shows where the speed requirement starts to cost.

# %%
floors = [300.0, 800.0, 830.0] if SMALL else [300.0, 700.0, 760.0, 800.0, 820.0, 840.0]
moves = []
for v in floors:
    out = cd.run_optimize({**cfg, "constraints": {"decode_tokens_per_s_per_user": {"min": v}}},
                          budget=BUDGET, seed=0)
    moves.append(out["designs"][0] if out["feasible"] else None)
fig, ax1 = plt.subplots(figsize=(7.5, 3.8))
ok = [(f, dd) for f, dd in zip(floors, moves) if dd is not None]
ax1.plot([f for f, _ in ok], [dd["objective_value"] for _, dd in ok], "o-", color="tab:red")
ax1.set(xlabel="speed floor, tokens/s per user", ylabel="best $ per million tokens (solid)")
ax2 = ax1.twinx()
ax2.plot([f for f, _ in ok], [dd["variables"]["chip.sram_bytes"] / 1e6 for _, dd in ok], "s--", color="tab:blue")
ax2.set_ylabel("optimal SRAM per chip, MB (dashed)")
ax1.set_title("Where the optimum moves as the per-user speed floor rises")
fig.tight_layout()
plt.show()

# %% [markdown]
# Up to ~800 tokens/s per user the floor is free (its shadow price is 0); past it, the
# optimiser gives up pipeline depth and batch — the sequences in flight that amortise the
# chips — to shorten the path of one token, and $/Mtok jumps; above what the 900 MHz chip
# can reach at any mapping the problem is infeasible (no point). These are the numbers a
# design review needs: not one optimum, but what each requirement costs.
