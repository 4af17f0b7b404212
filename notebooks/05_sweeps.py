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
# # 05 · Ten million designs: a sweep with on-device reductions, then the rows in Parquet
#
# Search answers "what is best"; a sweep answers "what does the whole space look like" —
# how much of it fits, which constraint kills the rest, how cost is distributed. The sweep
# evaluates the same compiled model over every point and reduces on the device (counts,
# histograms, top-k, the Pareto front), so 10⁷ designs cost a few MB of state, not 10⁷ rows.
#
# **Sizes.** The full notebook sweeps **10⁷ random designs** (5·10⁶ per KV-cache dtype) of
# `configs/experiments/sweep_lpu_llama70b.yaml`: about a minute on a CPU (~185,000 designs/s
# measured on a shared 2-core machine), seconds on a GPU. Under CI
# (`CODESIGN_NOTEBOOK_SMALL=1`, set by `tests/test_notebooks.py`) it sweeps 2·10⁴ designs. The
# second part writes every point of a sweep over the int8-KV designs to Parquet (10⁶ rows full,
# 10⁴ under CI) and reads the parts back with pyarrow (pandas is not needed).

# %%
# %matplotlib inline
import os
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pyarrow.compute as pc
import pyarrow.dataset as ds
import yaml
from IPython.display import Image, display

import codesign as cd

ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "configs" / "experiments").is_dir())
SMALL = os.environ.get("CODESIGN_NOTEBOOK_SMALL") == "1"
PER_VARIANT = 10_000 if SMALL else 5_000_000  # x 2 KV dtypes: 2e4 (CI) or 1e7 designs
ROWS = 10_000 if SMALL else 1_000_000  # designs of the sweep written row by row to Parquet (int8 KV only)
OUT = Path(os.environ.get("CODESIGN_NOTEBOOK_OUT", "../out/notebooks")) / "05_sweeps"
cfg = yaml.safe_load((ROOT / "configs/experiments/sweep_lpu_llama70b.yaml").read_text())
print("space:", list(cfg["space"]), "| constraints:", cfg["constraints"], "| objective:", cfg["objective"])

# %% [markdown]
# ## The sweep: reductions only
#
# `cd.run_sweep` commits its state after every chunk; run the cell again (or after a kill) and
# it continues where it stopped. The progress callback receives a `cd.Progress`.

# %%
last = []
run = cd.run_sweep(cfg, OUT / "sweep", samples=PER_VARIANT, chunk=65536, progress=last.append)
s = run["summary"]
print(f"{s['points']:,} designs in {run['elapsed_s']:.1f} s ({run['points_per_s']:,.0f}/s on "
      f"{run['devices']} device(s)); feasible {s['feasible']:,} ({s['feasible_fraction']:.2%})")

# %%
viol = s["violations"]
fig, ax = plt.subplots(figsize=(8, 3))
ax.barh(list(viol), [100 * v / s["points"] for v in viol.values()], color="tab:red")
ax.set(xlabel="% of designs violating (a design may violate several)",
       title=f"Why designs fail: {s['points']:,} random LPU designs for Llama-2-70B")
fig.tight_layout()
plt.show()

# %% [markdown]
# Most random designs fail on memory (too few chips × too little SRAM for the weights and KV
# cache of their batch) or on the reticle (too much SRAM for one die); the speed floor is a
# minor filter. The on-device report — histograms of every metric over all and over feasible
# designs, the top-k and the front — is one call:

# %%
report = cd.workflows.sweep_report(OUT / "sweep")
display(Image(filename=str(report.plot)))
best = s["top_k"]["objective"][0]
print("best design:", best["variant"], {k: round(v, 3) for k, v in best["design"].items()},
      f"-> ${best['metrics']['usd_per_million_tokens']:.3f}/Mtok at "
      f"{best['metrics']['decode_tokens_per_s_per_user']:.0f} tok/s/user")

# %% [markdown]
# ## Every row, in Parquet
#
# With `rows=True` each chunk also lands as one Parquet part under `rows/`: every variable,
# every metric, the objective and a feasibility flag. pyarrow reads the parts as one dataset.
# This sweep keeps only the int8 KV cache, the format of the best design above (one compiled
# variant instead of two).

# %%
rows_dir = OUT / "rows_sweep"
shutil.rmtree(rows_dir, ignore_errors=True)  # a fresh sweep (a rerun would just resume it)
int8_only = {**cfg, "space": {**cfg["space"], "workload.kv_dtype": ["int8"]}}
rrun = cd.run_sweep(int8_only, rows_dir, samples=ROWS, seed=1, rows=True)
table = ds.dataset(rows_dir / "rows", format="parquet").to_table()
parts = sorted(p.name for p in (rows_dir / "rows").glob("*.parquet"))
print(f"{table.num_rows:,} rows x {table.num_columns} columns in {len(parts)} parts, e.g. {parts[0]}")

feasible = table.filter(pc.field("feasible"))
top = feasible.sort_by([("objective", "ascending")]).slice(0, 5)
cols = ["workload.kv_dtype", "chip.sram_bytes", "chip.clock_hz", "mapping.tp", "mapping.pp", "mapping.batch",
        "usd_per_million_tokens", "decode_tokens_per_s_per_user"]
cols = [c for c in cols if c in table.column_names]
for r in top.select(cols).to_pylist():
    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()})
device_best = rrun["summary"]["top_k"]["objective"][0]["metrics"]["usd_per_million_tokens"]
print(f"top-1 from Parquet ${top['usd_per_million_tokens'][0].as_py():.4f}/Mtok; "
      f"on-device top-k of the same sweep ${device_best:.4f}/Mtok")

# %%
usd = feasible["usd_per_million_tokens"].to_numpy()
speed = feasible["decode_tokens_per_s_per_user"].to_numpy()
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].hist(np.log10(usd), bins=40, color="tab:purple")
axes[0].set(xlabel="log10 $ per million tokens", ylabel="feasible designs",
            title=f"cost of the {len(usd):,} feasible designs")
axes[1].scatter(usd, speed, s=3, alpha=0.3)
axes[1].set(xscale="log", xlabel="$ per million tokens", ylabel="tokens/s per user", title="every feasible design")
fig.tight_layout()
plt.show()

# %% [markdown]
# The Parquet top-1 and the on-device top-k agree — the reductions are exact, not sampled —
# and the rows allow any question the reductions did not anticipate (here: the scatter of
# cost against speed, whose upper-left edge is the Pareto front). The cost distribution spans
# orders of magnitude: most feasible designs are far from the best, which is why a random
# design is no answer and a search (notebook 03) or a sweep's top-k is.
