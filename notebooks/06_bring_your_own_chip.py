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
# # 06 · Bring your own chip: define it in YAML or in Python, validate, evaluate, optimise
#
# The presets are examples, not a limit. This notebook defines a chip that does not exist —
# a second-generation SRAM-only inference chip on a denser node — twice:
#
# 1. **in YAML**, as an experiment config that starts from a preset and overrides chip and
#    system fields (the same file `codesign evaluate` / `codesign optimize` would take), and
# 2. **in Python**, as a `cd.Chip` and a `cd.System` written out field by field, priced from
#    its own die (wafer cost, yield, margin) instead of a market price;
#
# then validates both (bad values are refused with an error naming the field), evaluates them
# against the Groq LPU v1 and optimises the Python one. The chip's numbers below are
# **assumptions for illustration**, stated next to each field.

# %%
# %matplotlib inline
import dataclasses
import os

import matplotlib.pyplot as plt
import yaml

import codesign as cd
from codesign.design import Hardware
from codesign.design.fields import check_spec
from codesign.model.cost import build_cost_usd

SMALL = os.environ.get("CODESIGN_NOTEBOOK_SMALL") == "1"
BUDGET = 1500 if SMALL else 8000  # model evaluations for the optimisation (CI: 1,500)

# %% [markdown]
# ## 1. In YAML: a preset plus overrides
#
# Any numeric chip or system field can be overridden; the mapping keys (`chips`, `tp`, `pp`,
# `batch`) are optional — unset ones get defaults (fewest chips that fit, tensor parallel in
# a node, pipeline across nodes), and the design says which it chose.

# %%
YAML = """
hardware: groq-lpu-v1          # start from the TSP preset ...
model: llama-2-70b
weight_dtype: int8
kv_dtype: int8
batch: 32
chip:                          # ... and change what the new chip changes (assumptions)
  sram_bytes: 5.0e+8           # 500 MB per chip
  sram_mb_per_mm2: 3.0         # ~2.3x the 14 nm density (7 nm-class HD SRAM)
  die_area_fixed_mm2: 250.0    # logic shrunk ~2.2x
  wafer_cost_usd: 9346.0       # 7 nm wafer, CSET "AI Chips" (2020)
  clock_hz: 1.2e+9
  link_bw_bytes_per_s: 2.0e+11
system:
  chips_per_node: 16.0
"""
request = yaml.safe_load(YAML)
lpu2 = cd.build_design(request)  # validates every key and value, fills in the mapping
print("chosen:", lpu2.chosen)
print(f"mapping: tp {lpu2.mapping.tp:g} x pp {lpu2.mapping.pp:g}, batch {lpu2.mapping.batch:g}")
r_yaml = cd.evaluate_jit(*lpu2.specs)
print(f"{float(r_yaml.decode_tokens_per_s_per_user):.0f} tok/s/user, ${float(r_yaml.usd_per_million_tokens):.2f}/Mtok, "
      f"die {float(r_yaml.die_area_mm2):.0f} mm2, fits {bool(r_yaml.fits)}")

# %% [markdown]
# A bad value is a `cd.ConfigError` naming the field, the value and what is allowed — never
# a silent wrong answer:

# %%
for bad in ({"chip": {"clock_hz": -1.0}}, {"chip": {"sram_byte": 5e8}}, {"system": {"chips_per_node": 0}}):
    try:
        cd.build_design({**request, **bad})
    except cd.ConfigError as e:
        print("refused:", e)

# %% [markdown]
# ## 2. In Python: every field written out
#
# A `cd.Chip` and a `cd.System` are frozen dataclass pytrees: array fields can be searched
# and differentiated, the string fields (`memory_kind`, `price_mode`, …) are static.
# `price_mode="build"` prices the chip from its die: dies per wafer, negative-binomial yield,
# package, times the margin.

# %%
chip = cd.Chip(
    fp16_flops_per_s=400e12, bf16_flops_per_s=400e12, fp8_flops_per_s=800e12, int8_flops_per_s=1600e12,
    fp4_flops_per_s=0.0, compute_efficiency=1.0,
    sram_bytes=5.0e8, sram_bw_bytes_per_s=150e12, hbm_bytes=0.0, hbm_bw_bytes_per_s=0.0, memory_efficiency=1.0,
    clock_hz=1.2e9,
    # Execution units, as the TSP: vector ALUs, stream intake of the matrix unit, one-row
    # matrix instructions, 464-cycle pipeline latency per op, software-scheduled collectives.
    vector_ops_per_s=5.12e12, matrix_load_bytes_per_s=24.6e12, matrix_tile_rows=1.0,
    op_floor_s=464 / 1.2e9, collective_base_s=0.0,
    link_bw_bytes_per_s=2.0e11, link_latency_s=0.5e-6,
    tdp_w=300.0, static_power_w=30.0, active_baseline_w=50.0, power_cap_w=300.0,  # idle, + busy, board cap
    pj_per_flop_16bit=0.4, sram_pj_per_byte=3.0, hbm_pj_per_byte=0.0,
    link_pj_per_byte=30.0,
    die_area_fixed_mm2=250.0, sram_mb_per_mm2=3.0, reticle_mm2=858.0,
    wafer_cost_usd=9346.0, defect_density_per_cm2=0.1, yield_cluster_alpha=3.0, package_cost_usd=600.0,
    hbm_usd_per_gb=0.0, build_margin=4.0, market_price_usd=0.0,
    reference_build_cost_usd=1.0, reference_clock_hz=1.2e9,  # peaks and energies quoted at 1.2 GHz
    name="lpu-next", memory_kind="sram", pp_split="op", price_mode="build", execution="dataflow")
# The reference build cost is derived, as the preset loader does: the chip's own build cost.
chip = dataclasses.replace(chip, reference_build_cost_usd=float(build_cost_usd(chip)))
system = cd.System(
    chips_per_node=16.0, nodes_per_rack=4.0, host_power_w=800.0, node_cost_usd=20000.0,
    inter_node_bw_bytes_per_s=1.0e11, inter_node_latency_s=1.0e-6,
    pue=1.3, usd_per_kwh=0.08, lifetime_years=4.0, utilization=0.5,
    name="lpu-next", intra_topology="all_to_all")
check_spec(chip, "lpu-next chip")  # every numeric field in its range (raises ConfigError otherwise)
check_spec(system, "lpu-next system")
mine = Hardware("lpu-next", "illustrative 7 nm-class SRAM-only chip", chip, system, sources={}, family="custom")
d = cd.build_design({"hardware": mine, "model": "llama-2-70b", "weight_dtype": "int8", "kv_dtype": "int8",
                     "batch": 32})
r_py = cd.evaluate_jit(*d.specs)
print(f"lpu-next: {d.mapping.tp:g} x {d.mapping.pp:g} chips, {float(r_py.decode_tokens_per_s_per_user):.0f} "
      f"tok/s/user, ${float(r_py.usd_per_million_tokens):.2f}/Mtok, chip price ${float(r_py.chip_price_usd):,.0f}")

# %% [markdown]
# ## 3. Optimise the new chip
#
# The same experiment-config keys as `configs/experiments/what_lpu.yaml`, with the
# `Hardware` value in place of a preset name: search SRAM per chip, tp, pp and batch for the
# lowest $/Mtok at ≥ 300 tokens/s per user.

# %%
problem = {"hardware": mine, "model": "llama-2-70b", "weight_dtype": "int8", "kv_dtype": "int8",
           "space": {"chip.sram_bytes": {"min": 5.0e7, "max": 2.0e9, "log": True, "num": 32},
                     "mapping.tp": [1, 2, 4, 8, 16], "mapping.pp": {"min": 1, "max": 80, "integer": True},
                     "mapping.batch": {"min": 1, "max": 512, "integer": True, "log": True, "num": 40}},
           "objective": "usd_per_million_tokens",
           "constraints": {"decode_tokens_per_s_per_user": {"min": 300}}}
best = cd.run_optimize(problem, method="gradient", budget=BUDGET, seed=0)
top = best["designs"][0]
print("feasible:", best["feasible"], "| best:", {k: round(v, 1) for k, v in top["variables"].items()},
      f"-> ${top['objective_value']:.3f}/Mtok, {top['metrics']['decode_tokens_per_s_per_user']:.0f} tok/s/user")

# %%
groq = cd.build_design({"hardware": "groq-lpu-v1", "model": "llama-2-70b", "weight_dtype": "int8",
                        "kv_dtype": "int8", "chips": 576, "batch": 32})
r_groq = cd.evaluate_jit(*groq.specs)
names = ["Groq v1\n576 chips, b=32", "YAML: v1 + overrides\nb=32", "Python lpu-next\nb=32",
         "lpu-next\noptimised"]
usd = [float(r_groq.usd_per_million_tokens), float(r_yaml.usd_per_million_tokens),
       float(r_py.usd_per_million_tokens), top["objective_value"]]
speed = [float(r_groq.decode_tokens_per_s_per_user), float(r_yaml.decode_tokens_per_s_per_user),
         float(r_py.decode_tokens_per_s_per_user), top["metrics"]["decode_tokens_per_s_per_user"]]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
axes[0].bar(names, usd, color=["tab:orange", "tab:olive", "tab:cyan", "tab:blue"])
axes[0].set(ylabel="$ per million tokens", yscale="log", title="cost")
axes[1].bar(names, speed, color=["tab:orange", "tab:olive", "tab:cyan", "tab:blue"])
axes[1].axhline(300, color="k", ls="--", lw=0.8, label="300 tok/s/user floor")
axes[1].set(ylabel="tokens/s per user", title="speed")
axes[1].legend(fontsize=8)
for ax in axes:
    ax.tick_params(axis="x", labelsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# Both definitions go through the same validation and the same compiled model as the
# presets, so everything in notebooks 02–05 — gradients, what-ifs, Pareto fronts, sweeps —
# applies to them unchanged: pass the `Hardware` value (or the YAML file) wherever a preset
# name goes. The optimiser picks the SRAM size and the partitioning for *this* chip; the
# comparison with the TSP at a fixed batch shows how much of the gain is the chip and how
# much is choosing the mapping for it.
