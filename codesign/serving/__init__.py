"""Serving simulation: requests arriving at one replica, a fleet, or a prefill/decode pair
of pools, scheduled by continuous batching, and the metrics serving benchmarks report.

    import codesign.serving as sv
    pol = sv.Policy("chunked", max_slots=64, token_budget=2048)
    pool = sv.make_pool(chip, system, workload, mapping, pol)        # KV capacity from memory
    req = sv.make_requests(key, 1000, rate_per_s=4.0, prompt=sv.Lengths("lognormal", 1024, 0.5))
    trace = sv.simulate(req, pool, pol)                              # jit/vmap: max_iterations static
    m = sv.summarize(req, trace, sv.SLO(ttft_s=2.0, tpot_s=0.2))     # ServingMetrics pytree

Layer: above the cost model (it asks ``model.timing`` for each iteration's duration through
:func:`step.step_cost` only) and below design/objectives.

API notes for callers (changes from the first contract):

* ``simulate(..., max_iterations=None, record_iterations=True, prefilled=None,
  last_token_s=None)``: ``max_iterations`` is static (default :func:`iteration_bound` of
  concrete requests; required under jit/vmap of the requests); ``record_iterations=False``
  drops the per-iteration series (``Trace.iterations`` is None) for large vmapped batches.
* ``Trace.iterations`` (an :class:`Iterations` of arrays [I], I = 2 x max_iterations):
  entries with ``active`` = 0 are padding; a record with ``steps`` > 1 merges that many
  consecutive pure-decode iterations (total duration, tokens, energy). A fleet's have a
  leading replica axis. ``Trace.iterations_run`` counts scheduler iterations.
* ``Policy.token_budget``, ``page_tokens`` and ``preempt`` are data inside the compiled
  program: one compilation per (kind, max_slots, max_iterations, shapes) serves them all.
* KV capacity lives in ``Pool.kv_capacity_tokens`` (``make_pool`` computes it from the
  memory model; pass ``kv_capacity=`` to override).
* ``summarize`` needs no pool (the trace carries idle power); the argument is accepted.
"""
from .disaggregated import kv_transfer_s, simulate_disaggregated
from .fleet import ROUTERS, route, simulate_fleet
from .metrics import METRIC_NAMES, QUANTILES, ServingMetrics, masked_percentile, summarize
from .policy import POLICY_KINDS, PREEMPT_MODES, SLO, Policy
from .pool import Pool, kv_capacity_tokens, make_pool
from .requests import ARRIVALS, LENGTH_KINDS, Lengths, Requests, make_requests, requests_from_arrays
from .scheduler import iteration_bound, simulate
from .step import step_cost
from .trace import Iterations, Trace, itl_edges_s

__all__ = [
    "ARRIVALS", "LENGTH_KINDS", "METRIC_NAMES", "POLICY_KINDS", "PREEMPT_MODES", "QUANTILES", "ROUTERS",
    "Iterations", "Lengths", "Policy", "Pool", "Requests", "SLO", "ServingMetrics", "Trace",
    "itl_edges_s", "iteration_bound", "kv_capacity_tokens", "kv_transfer_s", "make_pool", "make_requests",
    "masked_percentile", "requests_from_arrays", "route", "simulate", "simulate_disaggregated",
    "simulate_fleet", "step_cost", "summarize",
]
