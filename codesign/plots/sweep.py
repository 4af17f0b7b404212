"""The report figure of a sweep: front, histograms, feasibility (object API, no pyplot)."""
import numpy as np
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

from ..model import METRIC_NAMES
from ..sweep.kernel import ReduceSpec
from ..sweep.reductions import Reductions
from ._figure import new_figure, png_bytes

DEFAULT_METRICS = ("usd_per_million_tokens", "decode_tokens_per_s_per_user", "joules_per_token", "chips",
                   "ttft_s", "throughput_tokens_per_s", "power_w", "capex_usd", "die_area_mm2",
                   "memory_per_chip_bytes")


def _hist_panel(ax, spec: ReduceSpec, red: Reductions, metric: str):
    i = METRIC_NAMES.index(metric)
    edges = spec.bins.edges()
    both, feas = red.hist[i].sum(0)[1:-2], red.hist[i, 1][1:-2]  # inner bins only
    nz = np.nonzero(both)[0]
    if nz.size == 0:
        ax.text(0.5, 0.5, "no values in range", ha="center", transform=ax.transAxes)
    else:
        lo, hi = nz[0], nz[-1] + 1
        e = edges[lo:hi + 1]
        ax.stairs(both[lo:hi], e, fill=True, alpha=0.35, label="all")
        ax.stairs(feas[lo:hi], e, fill=True, alpha=0.8, label="feasible")
        ax.set_xscale("log")
        ax.set_yscale("log")
        # a few labels per panel: all minor ticks labelled overlap in a narrow panel
        ax.xaxis.set_major_locator(LogLocator(numticks=4))
        if e[-1] > 10 * e[0]:  # decades in view: label them only
            ax.xaxis.set_minor_formatter(NullFormatter())
        else:  # under a decade: label 2 and 5 times the powers of ten
            ax.xaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
            ax.xaxis.set_minor_formatter(FormatStrFormatter("%.3g"))
    under, over = int(red.hist[i].sum(0)[0]), int(red.hist[i].sum(0)[-2])
    extra = f" (+{under} below, {over} above range)" if under or over else ""
    ax.set_title(f"{metric}{extra}", fontsize=8)
    ax.tick_params(which="both", labelsize=7)


def report_png(spec: ReduceSpec, red: Reductions, title: str) -> bytes:
    metrics = list(dict.fromkeys([m for m in (*spec.pareto, *spec.ranked) if m in METRIC_NAMES] + list(DEFAULT_METRICS)))[:10]
    fig = new_figure(figsize=(16, 10.5))
    axes = fig.subplots(3, 4).ravel()
    ax = axes[0]
    if spec.pareto and len(red.front):
        c0, c1 = spec.col(spec.pareto[0]), spec.col(spec.pareto[1])
        ax.plot(red.front.rows[:, c0], red.front.rows[:, c1], "o-", ms=3, lw=0.8, label=f"front ({len(red.front)})")
        for name, rec in red.top.items():
            if len(rec):
                ax.plot(rec.rows[:, c0], rec.rows[:, c1], "x", ms=5, label=f"top {len(rec)}: {name}"[:40])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(spec.pareto[0], fontsize=8)
        ax.set_ylabel(spec.pareto[1], fontsize=8)
        ax.legend(fontsize=6)
        ax.set_title("Pareto front (feasible designs)", fontsize=9)
    else:
        ax.text(0.5, 0.5, "no Pareto front (set pareto: [m1, m2])", ha="center", transform=ax.transAxes, fontsize=8)
    ax = axes[1]
    names = ["points", "feasible", *spec.counters[3:]]
    vals = [int(red.counts[0]), int(red.counts[1]), *(int(c) for c in red.counts[3:])]
    ax.barh(range(len(vals)), [max(v, 0.5) for v in vals], color=["C0", "C2"] + ["C3"] * (len(vals) - 2), alpha=0.5)
    for y, (n, v) in enumerate(zip(names, vals)):
        ax.text(1, y, f" {n}: {v:,}", va="center", fontsize=7)
    ax.set_yticks([])
    ax.set_xscale("log")
    ax.set_xlim(0.8, max(vals + [1]) * 1.5)
    ax.set_title("points, feasible, and violations per constraint", fontsize=9)
    for ax, m in zip(axes[2:], metrics):
        _hist_panel(ax, spec, red, m)
    axes[2].legend(fontsize=7)
    for ax in axes[2 + len(metrics):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return png_bytes(fig, dpi=90)
