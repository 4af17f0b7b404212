"""Figures without pyplot: no global backend or figure state, so importing never selects a
backend and a plot in a notebook or a thread does not disturb the caller's matplotlib."""
import io
import os

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..config.writing import atomic_path
from ..errors import ConfigError


def new_figure(**kwargs) -> Figure:
    """A Figure with its own Agg canvas (``kwargs``: figsize, layout, ...)."""
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def plot_path(path, default_name: str) -> str:
    """The file a plot given as ``path`` goes to: ``path/default_name`` for a directory (or a
    path ending in a separator), ``path + ".png"`` for a path without an extension."""
    path = os.fspath(path)
    if os.path.isdir(path) or path.endswith(os.sep):
        return os.path.join(path, default_name)
    return path if os.path.splitext(path)[1] else path + ".png"


def check_plot_path(path, default_name: str = "plot.png") -> str:
    """:func:`plot_path` of ``path``, checked for a format matplotlib writes (so a long run
    can refuse ``out.xyz`` before it starts)."""
    path = plot_path(path, default_name)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    formats = FigureCanvasAgg.get_supported_filetypes()
    if ext not in formats:
        raise ConfigError(f"plot {path!r}: unknown image format {ext!r} (from the extension); allowed: "
                          f"{', '.join('.' + e for e in sorted(formats))}")
    return path


def save(fig: Figure, path, default_name: str = "plot.png", **kwargs) -> str:
    """Write ``fig`` to ``path`` (format by its extension; see :func:`plot_path`), whole or not
    at all; returns the file written. An unknown format or unwritable path is a ConfigError."""
    path = check_plot_path(path, default_name)
    try:
        with atomic_path(path, "plot") as tmp:
            fig.savefig(tmp, **kwargs)
    except OSError as e:
        raise ConfigError(f"cannot write plot {path!r}: {e}") from None
    return path


def png_bytes(fig: Figure, **kwargs) -> bytes:
    """``fig`` as PNG bytes (for atomic writes by the caller)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **kwargs)
    return buf.getvalue()
