r"""Serving metrics of one simulation, as benchmarks define them.

* TTFT = first token - arrival; end-to-end = finish - arrival; queueing = first admission -
  arrival.
* TPOT (MLPerf, first token excluded): (e2e - TTFT) / (output tokens - 1), for requests
  with at least two output tokens.
* ITL: every gap between consecutive tokens of a request (from the simulator's histogram:
  the mean is exact, percentiles are read from log bins 4% wide).
* Percentiles are numpy's "linear" method over the completed requests.
* Rates are over the span from the first arrival to the last finish:
  output (total) tokens/s, requests/s, goodput = completed requests meeting both the TTFT
  and the TPOT objective per second; ``slo_met`` = 1 when the SLO percentile of TTFT and
  of TPOT are within their objectives (MLPerf Server's rule) and every request completed.
* KV utilization = time-averaged pages held / capacity over the span.
* Energy per output token at the chip boundary (accelerators: dynamic energy of every
  iteration + idle power x span) and the node boundary (+ hosts), as ``model.energy``
  defines them.
"""
import jax
import jax.numpy as jnp
import numpy as np

from ..specs._pytree import numeric_fields, pytree_dataclass
from .policy import SLO
from .requests import Requests
from .trace import ITL_BINS, Trace, itl_edges_s

QUANTILES = (50.0, 90.0, 99.0)


def masked_percentile(x, mask, q):
    """Percentile ``q`` (0..100, numpy "linear") of ``x`` where ``mask``; 0 when empty."""
    n = mask.sum()
    xs = jnp.sort(jnp.where(mask, x, jnp.inf))
    pos = jnp.clip(q / 100.0 * (n - 1.0), 0.0, jnp.maximum(n - 1.0, 0.0))
    lo = jnp.floor(pos).astype(jnp.int32)
    hi = jnp.minimum(lo + 1, jnp.maximum(n - 1, 0).astype(jnp.int32))
    a, b = xs[lo], xs[hi]
    v = a + (pos - lo) * jnp.where(hi > lo, b - a, 0.0)
    return jnp.where(n > 0, v, 0.0)


def masked_mean(x, mask):
    n = mask.sum()
    return jnp.where(n > 0, jnp.where(mask, x, 0.0).sum() / jnp.maximum(n, 1), 0.0)


def _hist_percentile(hist, q):
    """Percentile ``q`` of a histogram over :func:`itl_edges_s` (geometric within a bin)."""
    edges = jnp.asarray(itl_edges_s(), hist.dtype)
    cdf = jnp.cumsum(hist)
    n = cdf[-1]
    target = q / 100.0 * n
    i = jnp.clip(jnp.searchsorted(cdf, target, side="left"), 0, ITL_BINS - 1)
    below = jnp.where(i > 0, cdf[jnp.maximum(i - 1, 0)], 0.0)
    frac = jnp.clip((target - below) / jnp.maximum(hist[i], 1e-30), 0.0, 1.0)
    v = edges[i] * (edges[i + 1] / edges[i]) ** frac
    return jnp.where(n > 0, v, 0.0)


@pytree_dataclass
class ServingMetrics:
    """Serving metrics of one scenario (SI units; all leaves are floats). ``*_mean``,
    ``*_p50``, ``*_p90``, ``*_p99`` and ``*_slo`` (at the SLO's percentile) for TTFT, TPOT,
    ITL, e2e and queueing delay."""

    requests: float
    completed: float
    never_fit: float
    exhausted: float
    span_s: float
    ttft_mean_s: float
    ttft_p50_s: float
    ttft_p90_s: float
    ttft_p99_s: float
    ttft_slo_s: float
    tpot_mean_s: float
    tpot_p50_s: float
    tpot_p90_s: float
    tpot_p99_s: float
    tpot_slo_s: float
    itl_mean_s: float
    itl_p50_s: float
    itl_p90_s: float
    itl_p99_s: float
    itl_slo_s: float
    e2e_mean_s: float
    e2e_p50_s: float
    e2e_p90_s: float
    e2e_p99_s: float
    e2e_slo_s: float
    queue_mean_s: float
    queue_p50_s: float
    queue_p90_s: float
    queue_p99_s: float
    queue_slo_s: float
    output_tokens_per_s: float
    total_tokens_per_s: float
    requests_per_s: float
    goodput_requests_per_s: float
    slo_attainment: float  # fraction of valid requests meeting both objectives
    slo_met: float
    kv_utilization: float
    kv_peak_utilization: float
    preemptions: float
    busy_fraction: float
    joules_per_token_chip: float
    joules_per_token_node: float

    def to_dict(self) -> dict:
        """``{field: float}`` (host values)."""
        return {k: float(getattr(self, k)) for k in numeric_fields(self)}


def _stats(prefix, x, mask, q_slo):
    out = {f"{prefix}_mean_s": masked_mean(x, mask)}
    for q in QUANTILES:
        out[f"{prefix}_p{q:g}_s"] = masked_percentile(x, mask, q)
    out[f"{prefix}_slo_s"] = masked_percentile(x, mask, q_slo)
    return out


def summarize(requests: Requests, trace: Trace, slo: SLO = SLO(), pool=None) -> ServingMetrics:
    """Metrics of ``trace`` (a simulation of ``requests``) against ``slo`` (static).
    ``pool`` is accepted for symmetry and unused: the trace carries the idle power.
    jit/vmap-safe."""
    del pool
    r, tr = requests, trace
    valid = r.valid > 0
    done = valid & jnp.isfinite(tr.finish_s)
    arr = r.arrival_s
    ttft = jnp.where(done, tr.first_token_s - arr, 0.0)
    e2e = jnp.where(done, tr.finish_s - arr, 0.0)
    multi = done & (r.output_tokens > 1)
    tpot = jnp.where(multi, (e2e - ttft) / jnp.maximum(r.output_tokens - 1.0, 1.0), 0.0)
    queue = jnp.where(done, tr.admitted_s - arr, 0.0)
    q = slo.percentile
    m = {**_stats("ttft", ttft, done, q), **_stats("tpot", tpot, multi, q), **_stats("e2e", e2e, done, q),
         **_stats("queue", queue, done, q)}
    hist = tr.itl_hist.reshape(-1, ITL_BINS).sum(0) if tr.itl_hist.ndim > 1 else tr.itl_hist
    m["itl_mean_s"] = jnp.where(tr.itl_count.sum() > 0, tr.itl_sum_s.sum() / jnp.maximum(tr.itl_count.sum(), 1), 0.0)
    for qq in QUANTILES:
        m[f"itl_p{qq:g}_s"] = _hist_percentile(hist, qq)
    m["itl_slo_s"] = _hist_percentile(hist, q)
    first = jnp.min(jnp.where(valid, arr, jnp.inf))
    last = jnp.max(jnp.where(done, tr.finish_s, -jnp.inf))
    span = jnp.where(done.any(), jnp.maximum(last - first, 0.0), 0.0)
    per_s = lambda x: jnp.where(span > 0, x / jnp.maximum(span, 1e-30), 0.0)
    out_tok = jnp.where(done, r.output_tokens, 0.0).sum()
    in_tok = jnp.where(done, r.prompt_tokens, 0.0).sum()
    good = done & (ttft <= slo.ttft_s) & ((tpot <= slo.tpot_s) | ~multi)
    n_valid = valid.sum()
    all_done = done.sum() == n_valid
    met = (m["ttft_slo_s"] <= slo.ttft_s) & (m["tpot_slo_s"] <= slo.tpot_s) & all_done & (n_valid > 0)
    pages = jnp.sum(tr.kv_pages)
    energy = jnp.sum(tr.energy_dynamic_j)
    e_chip = energy + jnp.sum(tr.static_power_chip_w) * span
    e_node = energy + jnp.sum(tr.static_power_node_w) * span
    per_tok = lambda e: jnp.where(out_tok > 0, e / jnp.maximum(out_tok, 1.0), 0.0)
    f = lambda x: jnp.asarray(x, jnp.result_type(float))
    vals = dict(
        requests=n_valid, completed=done.sum(), never_fit=jnp.sum(tr.never_fit_count),
        exhausted=jnp.max(tr.exhausted), span_s=span, **m,
        output_tokens_per_s=per_s(out_tok), total_tokens_per_s=per_s(out_tok + in_tok),
        requests_per_s=per_s(done.sum()), goodput_requests_per_s=per_s(good.sum()),
        slo_attainment=jnp.where(n_valid > 0, good.sum() / jnp.maximum(n_valid, 1), 0.0),
        slo_met=jnp.where(met, 1.0, 0.0),
        kv_utilization=jnp.where(span * pages > 0, jnp.sum(tr.kv_page_s) / jnp.maximum(span * pages, 1e-30), 0.0),
        kv_peak_utilization=jnp.max(jnp.where(tr.kv_pages > 0, tr.kv_peak_pages / jnp.maximum(tr.kv_pages, 1.0), 0.0)),
        preemptions=jnp.sum(tr.preemptions), busy_fraction=per_s(jnp.max(tr.busy_s)),
        joules_per_token_chip=per_tok(e_chip), joules_per_token_node=per_tok(e_node))
    return ServingMetrics(**{k: f(v) for k, v in vals.items()})


METRIC_NAMES = numeric_fields(ServingMetrics)
__all__ = ["METRIC_NAMES", "QUANTILES", "ServingMetrics", "masked_mean", "masked_percentile", "summarize"]
