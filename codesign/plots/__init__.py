"""Edge layer: matplotlib figures (object API, no pyplot state; never imported by the model layers)."""
from ._figure import check_plot_path, new_figure, png_bytes, plot_path, save
from .pareto import axis_label, plot_fronts
from .validation import loss_plot, parity_plot

__all__ = ["axis_label", "check_plot_path", "loss_plot", "new_figure", "parity_plot", "plot_fronts", "plot_path",
           "png_bytes", "save"]
