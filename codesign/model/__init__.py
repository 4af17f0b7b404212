"""Layer 3: the cost model (pure functions of one design point)."""
from .evaluate import METRIC_NAMES, Metrics, evaluate, evaluate_jit
from .smooth import EXACT, SMOOTH, Fidelity

__all__ = ["METRIC_NAMES", "Metrics", "evaluate", "evaluate_jit", "EXACT", "SMOOTH", "Fidelity"]

# Two pools of different chips (prefill + decode) joined by a KV link (issue 10 item 4).
from .disaggregated import DisaggregatedMetrics, Pool, PoolLink, evaluate_disaggregated, evaluate_disaggregated_jit  # noqa: E402
__all__ += ["DisaggregatedMetrics", "Pool", "PoolLink", "evaluate_disaggregated", "evaluate_disaggregated_jit"]
