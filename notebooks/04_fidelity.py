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
# # 04 · How much should you trust it? Parity, calibration and hold-out errors
#
# A model that optimises designs must say how well it predicts the systems that exist. The
# package ships a measurement dataset (`codesign/data/measurements.csv`: published tokens/s
# per user, throughput and energy per token, each row with its source and the mapping it was
# measured at) and a fit of per-family efficiency factors and fixed overheads
# (`codesign/presets/calibration/fitted.yaml`, written by `codesign calibrate`).
#
# This notebook keeps it light: it predicts every row with the uncalibrated presets and with
# the shipped fit (`cd.run_validate`, seconds), plots predicted against measured, and reads
# the fit's own error estimates — in-sample, leave-one-out and leave-one-*system*-out — from
# the fitted file. No fit is run here (`cd.run_calibrate` does that, in minutes).

# %%
# %matplotlib inline
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

import codesign as cd

OUT = Path(os.environ.get("CODESIGN_NOTEBOOK_OUT", "../out/notebooks")) / "04_fidelity"
OUT.mkdir(parents=True, exist_ok=True)

raw = cd.run_validate(plot=OUT / "parity_uncalibrated.png")
cal = cd.run_validate(calibrated=True, plot=OUT / "parity_calibrated.png")
print("rows:", raw.report["counts"])
for name, v in (("uncalibrated", raw), ("calibrated", cal)):
    print(f"{name:13s}", {s["hardware"]: f"{s['median_ape']:.0%}" for s in v.report["summary"]["by_system"]})

# %% [markdown]
# ## Parity: predicted vs measured, before and after the fit
#
# One point per measurement row the model can express; the grey band is ±20%.

# %%
kinds = sorted({r.kind for r in raw.results})
fig, axes = plt.subplots(2, len(kinds), figsize=(4.3 * len(kinds), 8), squeeze=False)
for row, (name, v) in enumerate((("uncalibrated presets", raw), ("calibrated (shipped fit)", cal))):
    for ax, kind in zip(axes[row], kinds):
        sub = [r for r in v.results if r.kind == kind]
        meas, pred = np.array([r.measured for r in sub]), np.array([r.predicted for r in sub])
        lo, hi = min(meas.min(), pred.min()) / 1.5, max(meas.max(), pred.max()) * 1.5
        xs = np.geomspace(lo, hi, 20)
        ax.fill_between(xs, xs * 0.8, xs * 1.2, color="0.88")
        ax.plot(xs, xs, "k-", lw=0.8)
        for hw in sorted({r.hardware for r in sub}):
            sel = [i for i, r in enumerate(sub) if r.hardware == hw]
            ax.scatter(meas[sel], pred[sel], s=22, label=hw, edgecolor="k", linewidth=0.3)
        ape = np.median([r.ape for r in sub])
        ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), xlabel=f"measured ({sub[0].metric})",
               ylabel="predicted", title=f"{kind}, {name}\nmedian APE {ape:.0%} (n={len(sub)})")
        ax.legend(fontsize=6)
fig.tight_layout()
plt.show()

# %% [markdown]
# Uncalibrated, the physics is in the right order of magnitude but optimistic: efficiencies
# are 1.0 and latency constants come from datasheets, so the Groq LPU is predicted at ~800
# tokens/s per user against 240–300 published. The fit (a handful of efficiency factors and
# latency multipliers per hardware *family*, with bounds and a weak prior) pulls most rows
# into the ±20% band. The library's own parity figure, written by `run_validate(plot=...)`:

# %%
display(Image(filename=str(OUT / "parity_calibrated.png")))

# %% [markdown]
# ## Error bars: in-sample, leave-one-out, hold-out system
#
# In-sample errors flatter any fit. The fitted file records two honest estimates: each row
# predicted by a fit that did not see it (leave-one-out), and each *system* predicted by a
# fit without any of its rows (hold-out system) — the case of a new chip. Bars are the median
# absolute percentage error, whiskers the maximum.

# %%
fitted = cd.config.load_fitted()
errs = fitted["errors"]
splits = ["in_sample", "leave_one_out", "hold_out_system"]
kinds = list(errs["in_sample"])
fig, ax = plt.subplots(figsize=(9, 3.8))
width = 0.26
for k, split in enumerate(splits):
    med = np.array([errs[split][kd]["median_ape"] for kd in kinds])
    mx = np.array([errs[split][kd]["max_ape"] for kd in kinds])
    x = np.arange(len(kinds)) + (k - 1) * width
    ax.bar(x, 100 * med, width, label=split.replace("_", " "))
    ax.errorbar(x, 100 * med, yerr=[np.zeros_like(med), 100 * (mx - med)], fmt="none", ecolor="k", capsize=3, lw=0.8)
ax.set_xticks(np.arange(len(kinds)), kinds)
ax.set(yscale="log", ylabel="absolute % error (median; whisker: max)",
       title=f"Calibration errors by metric class (fit of {fitted['fit_date']}, {fitted['dataset']['rows_fitted']} rows)")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
for system, by_kind in fitted["hold_out_system"].items():
    print(f"{system:14s} held out:", ", ".join(f"{kd} {e['median_ape']:.0%} (n={e['n']})" for kd, e in by_kind.items()))

# %% [markdown]
# Read the hold-out row for the system you care about before trusting a design study of it.
# For most GPUs the held-out error stays in the 10–30% range: the family's efficiencies
# transfer. The Groq LPU is the exception — it is the only chip of its family, so holding it
# out leaves nothing to fit its latency constants from and the error returns to the
# uncalibrated ~200% (3× too fast). Cerebras, also alone in its family with two rows, stays
# off even in sample. That is the model saying *"one architecture, five measurements"*: a new
# SRAM-only design inherits that uncertainty.
