"""Published analyses redone with the cost model: pure functions from validated inputs to
results (dicts of floats in SI units); experiment scripts under ``experiments/`` print and
plot them."""
from .batching import BATCH_RULES, BatchRule, operating_point
from .jia import Deployment, PublishedInputs, computed, equal_throughput, evaluate_deployment, published
from .jia_config import JiaConfig, parse_config

__all__ = ["BATCH_RULES", "BatchRule", "operating_point",
           "Deployment", "PublishedInputs", "computed", "equal_throughput", "evaluate_deployment",
           "published", "JiaConfig", "parse_config"]
