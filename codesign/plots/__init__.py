"""Edge layer: matplotlib figures (object API, no pyplot state; never imported by the model layers)."""
from ._figure import new_figure, png_bytes, save
from .pareto import axis_label, plot_fronts
from .validation import loss_plot, parity_plot

__all__ = ["axis_label", "loss_plot", "new_figure", "parity_plot", "plot_fronts", "png_bytes", "save"]
