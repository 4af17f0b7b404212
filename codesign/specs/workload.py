"""A decoder-only transformer and the number formats it is served in."""
from ._pytree import pytree_dataclass, static

#: Attention kinds (static: they select the formulas). ``gqa``: multi-head / grouped-query
#: attention with ``n_kv_heads`` K/V heads of ``head_dim``; ``mla``: DeepSeek's multi-head
#: latent attention (a compressed KV latent of ``kv_lora_rank + qk_rope_head_dim`` per token).
ATTENTION_KINDS = ("gqa", "mla")


@pytree_dataclass
class Workload:
    """An LLM. Dimensions are floats (leaves) so batches of models can be vmapped; they
    never set array shapes. Dtypes and the attention kind are static (they select peak
    rates, byte widths and formulas).

    ``n_experts`` = 0 means a dense FFN; otherwise every layer's FFN is a mixture of
    ``n_experts`` experts with ``experts_per_token`` active per token (Mixtral: 8, 2).

    The fields after ``experts_per_token`` describe the 2025 architectures; their defaults
    (all 0, ``attention="gqa"``, ``expert_dtype=""``) reproduce the plain decoder exactly:

    - ``moe_ffn_dim``: width of one expert when it differs from the dense ``ffn_dim``
      (DeepSeek-V3 ``moe_intermediate_size`` 2048 vs ``intermediate_size`` 18432); 0 = ffn_dim.
    - ``n_shared_experts``: experts every token passes through besides its routed top-k.
    - ``dense_layers``: leading layers whose FFN is dense (``first_k_dense_replace``).
    - ``q_lora_rank`` .. ``v_head_dim``: MLA dimensions (``attention="mla"``); q_lora_rank 0
      means an uncompressed query projection.
    - ``sliding_layers`` of the ``layers`` attend to the last ``sliding_window`` tokens only
      (gpt-oss: every other layer, 128 tokens). Attention sinks (one learned logit per head)
      are ignored: 64 parameters per layer and no bytes per token.
    - ``mtp_modules``: multi-token-prediction modules the checkpoint ships (not counted in
      the main model's parameters); ``mtp_draft_tokens`` tokens are drafted per decode step
      when MTP is used (0 = off) and each is accepted with probability ``mtp_acceptance``.
    - ``expert_dtype``: storage format of the expert (MoE FFN) weights when it differs from
      ``weight_dtype`` (gpt-oss: mxfp4 experts, bf16 attention and embeddings); "" = same.
    """

    layers: float
    d_model: float
    n_heads: float
    n_kv_heads: float
    head_dim: float
    ffn_dim: float
    vocab: float
    n_experts: float
    experts_per_token: float
    moe_ffn_dim: float = 0.0
    n_shared_experts: float = 0.0
    dense_layers: float = 0.0
    q_lora_rank: float = 0.0
    kv_lora_rank: float = 0.0
    qk_nope_head_dim: float = 0.0
    qk_rope_head_dim: float = 0.0
    v_head_dim: float = 0.0
    sliding_layers: float = 0.0
    sliding_window: float = 0.0  # tokens
    mtp_modules: float = 0.0
    mtp_draft_tokens: float = 0.0
    mtp_acceptance: float = 0.0  # probability in [0, 1]

    name: str = static("custom")
    weight_dtype: str = static("fp16")
    kv_dtype: str = static("fp16")
    act_dtype: str = static("fp16")
    gated_ffn: bool = static(True)  # SwiGLU: three FFN matrices instead of two
    tied_embeddings: bool = static(False)
    attention: str = static("gqa")
    expert_dtype: str = static("")
