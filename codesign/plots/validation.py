"""Figures of a validation or a fit: parity plot of predictions vs measurements, loss history."""
import matplotlib
import numpy as np

from ._figure import new_figure, save

_MARKERS = "osD^v<>Ph*X"


def parity_plot(results, path, title: str, band: float = 0.2):
    """One log-log panel per metric class: predicted vs measured, y = x and +-``band``.
    Returns the file written (see :func:`codesign.plots._figure.plot_path`)."""
    order = ("per-user speed", "throughput", "energy per token")
    kinds = sorted(dict.fromkeys(r.kind for r in results), key=lambda k: (order + (k,)).index(k))
    systems = list(dict.fromkeys(r.hardware for r in results))
    cols = min(3, max(1, len(kinds)))
    rows = int(np.ceil(len(kinds) / cols)) if kinds else 1
    fig = new_figure(figsize=(4.8 * cols, 4.4 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, kind in zip(axes.flat, kinds):
        sub = [r for r in results if r.kind == kind]
        lo = min(min(r.measured, r.predicted) for r in sub) / 1.6
        hi = max(max(r.measured, r.predicted) for r in sub) * 1.6
        x = np.geomspace(lo, hi, 50)
        ax.plot(x, x, "k-", lw=0.8)
        ax.fill_between(x, x * (1 - band), x * (1 + band), color="0.85", label=f"within {band:.0%}")
        for i, s in enumerate(systems):
            pts = [r for r in sub if r.hardware == s]
            if pts:
                ax.scatter([r.measured for r in pts], [r.predicted for r in pts], s=28,
                           marker=_MARKERS[i % len(_MARKERS)], color=colors[i % len(colors)], label=s,
                           edgecolor="k", linewidth=0.4, zorder=3)
        ape = np.median([r.ape for r in sub])
        ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), xlabel="measured",
               ylabel="predicted", title=f"{kind} (n={len(sub)}, median APE {ape:.0%})")
        ax.grid(True, which="both", lw=0.3, alpha=0.5)
        ax.legend(fontsize=7, loc="upper left")
    for ax in list(axes.flat)[len(kinds):]:
        ax.axis("off")
    fig.suptitle(title)
    return save(fig, path, "parity.png", dpi=130, bbox_inches="tight")


def loss_plot(history, path, title: str):
    """Loss per step of a fit (log y); returns the file written."""
    fig = new_figure(figsize=(5.5, 3.6))
    ax = fig.subplots()
    ax.semilogy(np.arange(1, len(history) + 1), history)
    ax.set(xlabel="adam step", ylabel="loss (mean squared log error + prior)", title=title)
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    return save(fig, path, "loss.png", dpi=130, bbox_inches="tight")
