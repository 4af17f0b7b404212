"""How the model is partitioned over chips, and the scenario it serves."""
from ._pytree import pytree_dataclass


@pytree_dataclass
class Mapping:
    """Partitioning and batch. Floats so that search can relax them; reported designs are
    integers. ``chips`` = tp x pp x dp. Experts are split ``ep`` ways inside each stage's
    ``tp`` chips (ep divides tp) and tensor-split tp/ep ways.

    ``batch`` is the number of sequences in flight per model replica; with ``pp`` stages
    they form min(batch, pp) micro-batches.
    """

    tp: float
    pp: float
    ep: float
    dp: float
    batch: float

    @property
    def chips(self):
        return self.tp * self.pp * self.dp


@pytree_dataclass
class Scenario:
    """One request shape: prompt (prefill) tokens and generated (decode) tokens.

    ``prefill_chunk_tokens`` bounds the activation working set of chunked prefill (vLLM and
    TensorRT-LLM token budgets are 512-8192; SRAM-only machines use small chunks).
    """

    prompt_tokens: float
    output_tokens: float
    prefill_chunk_tokens: float = 512.0
