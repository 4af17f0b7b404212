"""Layer 3: the cost model (pure functions of one design point)."""
from .evaluate import METRIC_NAMES, Metrics, evaluate, evaluate_jit
from .smooth import EXACT, SMOOTH, Fidelity

__all__ = ["METRIC_NAMES", "Metrics", "evaluate", "evaluate_jit", "EXACT", "SMOOTH", "Fidelity"]
