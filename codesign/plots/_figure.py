"""Figures without pyplot: no global backend or figure state, so importing never selects a
backend and a plot in a notebook or a thread does not disturb the caller's matplotlib."""
import io
import os

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import ConfigError


def new_figure(**kwargs) -> Figure:
    """A Figure with its own Agg canvas (``kwargs``: figsize, layout, ...)."""
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path, **kwargs):
    """Write ``fig`` to ``path`` (PNG by its extension); an unwritable path is a ConfigError."""
    try:
        fig.savefig(path, **kwargs)
    except OSError as e:
        raise ConfigError(f"cannot write plot {os.fspath(path)!r}: {e}") from None


def png_bytes(fig: Figure, **kwargs) -> bytes:
    """``fig`` as PNG bytes (for atomic writes by the caller)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **kwargs)
    return buf.getvalue()
