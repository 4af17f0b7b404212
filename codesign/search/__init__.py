"""Layer 5: co-design search — gradient, grid, random and CMA-ES searchers with one API
(``init``/``step``/``done``, an archive of exact evaluations), rounding and repair, Pareto
fronts and sensitivities at the optimum."""
from .base import Progress, SearchResult, Searcher, run
from .cmaes import CMAESHyper, cmaes
from .gradient import GradientHyper, gradient
from .grid import GridHyper, grid
from .methods import METHODS, make, optimize
from .random import RandomHyper, random

__all__ = ["Progress", "SearchResult", "Searcher", "run", "CMAESHyper", "cmaes", "GradientHyper", "gradient",
           "GridHyper", "grid", "METHODS", "make", "optimize", "RandomHyper", "random"]
