"""A decoder-only transformer and the number formats it is served in."""
from ._pytree import pytree_dataclass, static


@pytree_dataclass
class Workload:
    """An LLM. Dimensions are floats (leaves) so batches of models can be vmapped; they
    never set array shapes. Dtypes are static (they select peak rates and byte widths).

    ``n_experts`` = 0 means a dense FFN; otherwise every layer's FFN is a mixture of
    ``n_experts`` experts with ``experts_per_token`` active per token (Mixtral: 8, 2).
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

    name: str = static("custom")
    weight_dtype: str = static("fp16")
    kv_dtype: str = static("fp16")
    act_dtype: str = static("fp16")
    gated_ffn: bool = static(True)  # SwiGLU: three FFN matrices instead of two
    tied_embeddings: bool = static(False)
