"""Edge layer: matplotlib figures of search results (never imported by the library)."""
from .pareto import plot_fronts

__all__ = ["plot_fronts"]
