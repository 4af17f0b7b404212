"""Pareto-front figures: fronts as step-connected points, reference designs as labelled
markers, log axes (cost and speed span decades)."""
import matplotlib.colors
import matplotlib.ticker
import numpy as np

from ._figure import new_figure, save

LABELS = {"usd_per_million_tokens": "$ per million output tokens",
          "decode_tokens_per_s_per_user": "decode tokens/s per user",
          "joules_per_token": "J per output token", "throughput_tokens_per_s": "output tokens/s (system)",
          "ttft_s": "time to first token (s)", "capex_usd": "capex ($)", "power_w": "power (W)",
          "chips": "chips"}
_MARKERS = "s^Dv<>Ph*X"


def _minor_label(v, _pos) -> str:
    """Label minor log ticks at 2x and 5x a power of ten only."""
    mant = v / 10 ** np.floor(np.log10(v)) if v > 0 else 0
    return f"{v:g}" if np.isclose(mant, 2) or np.isclose(mant, 5) else ""


def axis_label(metric: str) -> str:
    return LABELS.get(metric, metric)


def plot_fronts(fronts, path, x_metric: str, y_metric: str, refs=(), title: str = "", c_metric=None,
                panels=None):
    """``fronts``: [(label, values (n, k), colour values or None)], columns in metric order
    (x, y[, c]); ``refs``: [(label, [(x, y), ...])] drawn as markers (a line through a
    sweep). ``panels``: optional [(title, fronts, refs)] for side-by-side panels."""
    panels = panels or [(title, fronts, refs)]
    fig = new_figure(figsize=(6.2 * len(panels), 4.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (ptitle, pfronts, prefs) in zip(axes[0], panels):
        for label, vals, cvals in pfronts:
            vals = np.asarray(vals, float)
            if not len(vals):
                continue
            order = np.argsort(vals[:, 0])
            if cvals is not None:
                sc = ax.scatter(vals[order, 0], vals[order, 1], c=np.asarray(cvals)[order], s=18, cmap="viridis",
                                norm=matplotlib.colors.LogNorm(), label=label, zorder=3)
                fig.colorbar(sc, ax=ax, label=axis_label(c_metric or ""))
            else:
                ax.plot(vals[order, 0], vals[order, 1], "o-", ms=3.5, lw=1.0, label=f"{label} ({len(vals)} designs)",
                        zorder=3)
        for k, (label, pts) in enumerate(prefs):
            pts = np.asarray(pts, float).reshape(-1, 2)
            ax.plot(pts[:, 0], pts[:, 1], _MARKERS[k % len(_MARKERS)] + "--", ms=8, lw=0.8, mfc="white",
                    mew=1.6, label=label, zorder=4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
            axis.set_minor_formatter(matplotlib.ticker.FuncFormatter(_minor_label))
        ax.set_xlabel(axis_label(x_metric))
        ax.set_ylabel(axis_label(y_metric))
        ax.grid(True, which="both", alpha=0.25)
        ax.set_title(ptitle, fontsize=9, wrap=True)
        ax.legend(fontsize=7.5, loc="best")
    return save(fig, path, "front.png", dpi=130)
