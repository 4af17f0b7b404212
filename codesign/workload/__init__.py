"""Layer 2: workload algebra — parameters, bytes and FLOPs of a decoder layer."""
from .algebra import (DEPENDENT_OPS_PER_LAYER, LayerCost, embedding_params, kv_bytes_per_token,
                      layer_cost, layer_params, lm_head_cost, total_params)

__all__ = ["DEPENDENT_OPS_PER_LAYER", "LayerCost", "embedding_params", "kv_bytes_per_token",
           "layer_cost", "layer_params", "lm_head_cost", "total_params"]
