"""Serving operating points: the ones benchmarks report.

* **At concurrency** c (ML.ENERGY, LLMPerf, single-user speed): c sequences in flight per
  replica, i.e. ``evaluate`` at batch = c.
* **Offline** (MLPerf "Offline": no latency bound): the largest batch that fits in memory,

  .. math:: B_\\mathrm{off} = \\max\\{b \\in \\mathbb{N} : \\mathrm{fits}(b)\\}.

* **Server** (MLPerf "Server"-style: a bound on the time per output token, TPOT):

  .. math:: B_\\mathrm{srv} = \\max\\{b \\in \\mathbb{N} : \\mathrm{fits}(b) \\wedge
            t_\\mathrm{decode}(b) \\le \\mathrm{TPOT}_\\max\\}.

Per-user speed has two readings. ``metrics.decode_tokens_per_s_per_user`` is 1 / (time of one
decode step): what a *median* inter-token latency measures. Under continuous batching every
new request's prefill also stalls the sequences in flight, so the *mean* time per output token
(MLPerf's TPOT, a client's tokens / generation time) is batch / per-replica throughput:

.. math:: v_\\mathrm{user} = \\frac{X / dp}{B} = \\frac{1}{t_\\mathrm{decode} + B\\,t_\\mathrm{prefill}/n_\\mathrm{out}},

reported as ``tokens_per_s_per_user``.

Both maxima are found by bisection over the integers in [1, max_batch(b=1)], which assumes
that fits(b) and decode_s_per_token(b) are monotone in b (one more sequence never frees
memory nor shortens a step). The search runs on ``stop_gradient`` copies of the specs, so the
chosen batch is piecewise constant in the hardware parameters and gradients flow only
through the evaluation at that batch. Pure functions of one design point; jit/vmap/grad-safe.
"""
import jax
import jax.numpy as jnp

from ..specs import Chip, Mapping, Scenario, System, Workload
from ..specs import replace as spec_replace
from ..specs._pytree import pytree_dataclass
from .evaluate import Metrics, evaluate
from .memory import memory_use
from .smooth import EXACT, Fidelity

#: Bisection steps: enough for batches up to 2^32.
_ITERS = 33


@pytree_dataclass
class OperatingPoint:
    """A serving operating point: the batch chosen, whether it meets its constraints
    (1.0 / 0.0: fits in memory and, for ``server``, meets the TPOT bound), the per-user speed
    with prefill stalls included (tokens/s), and the metrics."""

    batch: float
    feasible: float
    tokens_per_s_per_user: float
    metrics: Metrics


def _point(batch, feasible, r: Metrics) -> OperatingPoint:
    per_user = r.throughput_tokens_per_s / (r.dp * batch)
    return OperatingPoint(batch=batch, feasible=feasible, tokens_per_s_per_user=per_user, metrics=r)


def _with_batch(m: Mapping, batch) -> Mapping:
    return spec_replace(m, batch=jnp.asarray(batch, jnp.result_type(float)))


def largest_integer(pred, hi, iters: int = _ITERS):
    """Largest integer b in [1, max(hi, 1)] with ``pred(b)`` true, for a predicate that is
    true up to some b* and false after; returns 1 when ``pred(1)`` is false (callers check)."""
    hi = jnp.maximum(jnp.floor(hi), 1.0)

    def body(_, lohi):
        lo, up = lohi
        mid = jnp.floor(0.5 * (lo + up + 1.0))
        ok = pred(mid)
        return jnp.where(ok, mid, lo), jnp.where(ok, up, mid - 1.0)

    lo, _ = jax.lax.fori_loop(0, iters, body, (jnp.ones_like(hi), hi))
    return lo


def _search_bound(chip, w, m, sc):
    """Upper bound on the fitting batch: KV-cache capacity with batch-1 activations."""
    return memory_use(EXACT, chip, w, _with_batch(m, 1.0), sc).max_batch


def at_concurrency(chip: Chip, system: System, w: Workload, m: Mapping, sc: Scenario,
                   concurrency, fidelity: Fidelity = EXACT) -> OperatingPoint:
    """``concurrency`` sequences in flight per replica (batch = concurrency)."""
    r = evaluate(chip, system, w, _with_batch(m, concurrency), sc, fidelity)
    return _point(r.batch, r.fits, r)


def offline_batch(chip: Chip, w: Workload, m: Mapping, sc: Scenario):
    """The largest batch whose weights, KV cache and activations fit (1 if none fits:
    callers check ``fits``). Memory model only; piecewise constant in the specs."""
    c, s = jax.lax.stop_gradient((chip, sc))

    def fits(b):
        return memory_use(EXACT, c, w, _with_batch(m, b), s).fits > 0

    return largest_integer(fits, _search_bound(c, w, m, s))


def offline(chip: Chip, system: System, w: Workload, m: Mapping, sc: Scenario,
            fidelity: Fidelity = EXACT) -> OperatingPoint:
    """No latency bound: the largest batch whose weights, KV cache and activations fit."""
    batch = offline_batch(chip, w, m, sc)
    r = evaluate(chip, system, w, _with_batch(m, batch), sc, fidelity)
    return _point(batch, r.fits, r)


def server(chip: Chip, system: System, w: Workload, m: Mapping, sc: Scenario, tpot_bound_s,
           fidelity: Fidelity = EXACT, with_prefill: bool = False) -> OperatingPoint:
    """The largest batch that fits and whose time per output token is at most
    ``tpot_bound_s`` seconds (MLPerf v4.x Server: TPOT <= 0.2 s; TTFT is not bounded here).

    The time per output token is one decode step (``decode_s_per_token``), or with
    ``with_prefill`` (static) the mean TPOT including prefill stalls, batch / (throughput / dp).
    """
    c, y, s = jax.lax.stop_gradient((chip, system, sc))

    def ok(b):
        r = evaluate(c, y, w, _with_batch(m, b), s, EXACT)
        tpot = r.dp * b / r.throughput_tokens_per_s if with_prefill else r.decode_s_per_token
        return (r.fits > 0) & (tpot <= tpot_bound_s)

    batch = largest_integer(ok, _search_bound(c, w, m, s))
    r = evaluate(chip, system, w, _with_batch(m, batch), sc, fidelity)
    feasible = jnp.where(ok(batch), 1.0, 0.0)
    return _point(batch, feasible, r)


at_concurrency_jit = jax.jit(at_concurrency, static_argnames="fidelity")
offline_jit = jax.jit(offline, static_argnames="fidelity")
server_jit = jax.jit(server, static_argnames=("fidelity", "with_prefill"))

__all__ = ["OperatingPoint", "largest_integer", "at_concurrency", "offline", "offline_batch", "server",
           "at_concurrency_jit", "offline_jit", "server_jit"]
