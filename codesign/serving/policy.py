"""Scheduler policies and latency SLOs (static, hashable settings)."""
import dataclasses

import numpy as np

from ..errors import ConfigError

POLICY_KINDS = ("fcfs", "chunked")
PREEMPT_MODES = ("recompute", "none")


def _int_at_least(owner, name, v, lo):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ConfigError(f"{owner} {name} = {v!r}; must be an integer >= {lo}")


@dataclasses.dataclass(frozen=True)
class Policy:
    """How one replica schedules (static: part of the compiled program).

    * ``fcfs``: continuous batching with prefill priority (vLLM v0 default scheduler). Each
      iteration first admits waiting requests in arrival order while a batch slot, the KV
      pages of their whole prompt and the token budget (prompt tokens per iteration; the
      first prompt is always allowed) last; if any was admitted the iteration runs their
      prefills only, otherwise it runs one decode step of every running sequence.
    * ``chunked``: Sarathi-style token budget. Each iteration runs one decode token of every
      running sequence, then prefill chunks of the requests being prefilled (oldest first),
      then admits new requests while budget, slots and KV pages last, each taking a chunk.

    KV cache is held in pages of ``page_tokens``; a request is admitted with the pages of its
    prompt and takes one more page whenever decoding crosses a page boundary. When decode
    needs pages that are not free, ``preempt="recompute"`` evicts the most recently arrived
    running requests (vLLM recompute preemption): they lose their KV cache, keep their
    slot and their generated tokens, and are re-admitted before any new request by
    prefilling prompt + generated tokens again. With ``preempt="none"`` a request is
    admitted only with the pages of its whole prompt + output reserved, so decode never
    runs out (TensorRT-LLM's guaranteed-no-evict). A request whose prompt + output cannot fit
    in the whole KV capacity is never admitted (reported as ``never_fit``).

    ``max_requests`` is the capacity of the fixed request shape (trace padding).
    """

    kind: str = "fcfs"
    max_slots: int = 64
    token_budget: int = 8192
    page_tokens: int = 16
    preempt: str = "recompute"
    max_requests: int = 10_000

    def __post_init__(self):
        if self.kind not in POLICY_KINDS:
            raise ConfigError(f"policy kind {self.kind!r} is not allowed; allowed: {', '.join(POLICY_KINDS)}")
        if self.preempt not in PREEMPT_MODES:
            raise ConfigError(f"policy preempt {self.preempt!r} is not allowed; allowed: {', '.join(PREEMPT_MODES)}")
        for name in ("max_slots", "token_budget", "page_tokens", "max_requests"):
            _int_at_least("policy", name, getattr(self, name), 1)
        if self.kind == "chunked" and self.token_budget < self.max_slots:
            raise ConfigError(f"policy token_budget = {self.token_budget} < max_slots = {self.max_slots}: "
                              "chunked prefill runs one decode token per slot first; need token_budget >= max_slots")


@dataclasses.dataclass(frozen=True)
class SLO:
    """Latency objectives: time to first token and time per output token (MLPerf
    definition, first token excluded) at ``percentile`` (MLPerf Llama-2-70B Server:
    TTFT <= 2 s, TPOT <= 0.2 s at p99)."""

    ttft_s: float = 2.0
    tpot_s: float = 0.2
    percentile: float = 99.0

    def __post_init__(self):
        for name in ("ttft_s", "tpot_s"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v <= 0:
                raise ConfigError(f"slo {name} = {v!r}; must be a finite number of seconds > 0")
        p = self.percentile
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not (0 < p < 100):
            raise ConfigError(f"slo percentile = {p!r}; must be in (0, 100)")


__all__ = ["POLICY_KINDS", "PREEMPT_MODES", "Policy", "SLO"]
