"""Layer 5: co-design search — gradient, grid, random and CMA-ES searchers with one API
(pure evosax-style algorithms with traced hyper-parameters, driven by one host loop that
keeps an archive of exact evaluations), rounding and repair, Pareto fronts and
sensitivities at the optimum."""
from .algorithm import Algorithm, evolve
from .base import Progress, SearchResult, Searcher, run
from .cmaes import CMAESHyper, cmaes
from .gradient import GradientHyper, gradient
from .grid import GridHyper, grid
from .methods import METHODS, make, optimize
from .random import RandomHyper, random

__all__ = ["Algorithm", "evolve", "Progress", "SearchResult", "Searcher", "run", "CMAESHyper", "cmaes",
           "GradientHyper", "gradient", "GridHyper", "grid", "METHODS", "make", "optimize", "RandomHyper", "random"]
