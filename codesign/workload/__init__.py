"""Layer 2: workload algebra — parameters, bytes and FLOPs of a decoder layer."""
from .algebra import (LayerCost, active_params, decode_tokens_per_step,
                      embedding_params, kv_bytes_per_sequence, kv_bytes_per_token,
                      kv_bytes_per_token_layer, layer_cost, layer_params, layer_weight_bytes,
                      lm_head_cost, mla_attention_flops, mtp_params, total_params,
                      total_weight_bytes)

__all__ = ["LayerCost", "active_params", "decode_tokens_per_step",
           "embedding_params", "kv_bytes_per_sequence", "kv_bytes_per_token",
           "kv_bytes_per_token_layer", "layer_cost", "layer_params", "layer_weight_bytes",
           "lm_head_cost", "mla_attention_flops", "mtp_params", "total_params",
           "total_weight_bytes"]
