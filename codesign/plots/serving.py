"""Serving figures: throughput per chip vs speed per user (InferenceMAX-style curves), a
scenario's per-iteration time series, and latency distributions."""
import matplotlib.ticker
import numpy as np

from ._figure import new_figure, save

_MARKERS = "os^Dv<>Ph*X"


def plot_curves(curves, path, title: str = "", slo_tpot_s=None):
    """One line per system: output tokens/s per chip (y) against output tokens/s per user (x).

    Args:
        curves: [(label, per_user (n,), per_chip (n,))], each joined in the order given (by
            arrival rate: the curve turns back where overload stalls the users); points with
            a non-finite or non-positive value are skipped.
        path: file or directory (``curve.png``) to write.
        slo_tpot_s: optional TPOT bounds drawn as vertical lines at 1 / TPOT (tokens/s per user),
            a mapping label -> seconds.
    """
    fig = new_figure(figsize=(7.0, 4.8), layout="constrained")
    ax = fig.subplots()
    for k, (label, x, y) in enumerate(curves):
        x, y = np.asarray(x, float), np.asarray(y, float)
        ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
        if not ok.any():
            continue
        ax.plot(x[ok], y[ok], _MARKERS[k % len(_MARKERS)] + "-", ms=4, lw=1.2, label=label)
    for label, tpot in (slo_tpot_s or {}).items():
        ax.axvline(1.0 / tpot, color="grey", ls=":", lw=1.0)
        ax.annotate(label, (1.0 / tpot, 1.0), xycoords=("data", "axes fraction"), rotation=90, va="top",
                    ha="right", fontsize=7, color="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.set_xlabel("output tokens/s per user (1 / mean TPOT)")
    ax.set_ylabel("output tokens/s per chip")
    ax.grid(True, which="both", alpha=0.25)
    ax.set_title(title, fontsize=9, wrap=True)
    ax.legend(fontsize=7.5, loc="best")
    return save(fig, path, "curve.png", dpi=130)


def plot_timeseries(t_s, series: dict, path, title: str = ""):
    """Per-iteration series of one scenario, one panel each, against simulated time (s).

    Args:
        t_s: iteration end times, seconds (n,).
        series: panel label -> values (n,).
        path: file or directory (``timeseries.png``).
    """
    n = max(len(series), 1)
    fig = new_figure(figsize=(7.0, 1.9 * n + 0.6), layout="constrained")
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    t = np.asarray(t_s, float)
    for ax, (label, v) in zip(axes, series.items()):
        ax.plot(t, np.asarray(v, float), lw=0.9, drawstyle="steps-pre")  # value over the iteration ending at t
        ax.set_ylabel(label, fontsize=8)
        ax.grid(True, alpha=0.25)
    axes[-1].set_xlabel("simulated time (s)")
    axes[0].set_title(title, fontsize=9, wrap=True)
    return save(fig, path, "timeseries.png", dpi=120)


def plot_latency_cdf(latencies: dict, path, bounds: dict | None = None, title: str = ""):
    """Empirical CDFs of per-request latencies, one panel per metric (seconds, log x).

    Args:
        latencies: label -> per-request values (s); non-finite values are dropped.
        bounds: label -> SLO bound (s), drawn as a vertical line.
        path: file or directory (``latency.png``).
    """
    fig = new_figure(figsize=(4.2 * max(len(latencies), 1), 3.6), layout="constrained")
    axes = fig.subplots(1, max(len(latencies), 1), squeeze=False)[0]
    for ax, (label, v) in zip(axes, latencies.items()):
        v = np.sort(np.asarray(v, float)[np.isfinite(np.asarray(v, float))])
        if len(v):
            ax.step(v, np.arange(1, len(v) + 1) / len(v), where="post", lw=1.2)
            if v[0] > 0:
                ax.set_xscale("log")
        if bounds and label in bounds:
            ax.axvline(bounds[label], color="crimson", ls="--", lw=1.0, label=f"SLO {bounds[label]:g} s")
            ax.legend(fontsize=7.5, loc="lower right")
        ax.set_xlabel(f"{label} (s)")
        ax.set_ylabel("fraction of requests")
        ax.grid(True, which="both", alpha=0.25)
    axes[0].set_title(title, fontsize=9, wrap=True)
    return save(fig, path, "latency.png", dpi=120)


__all__ = ["plot_curves", "plot_latency_cdf", "plot_timeseries"]
