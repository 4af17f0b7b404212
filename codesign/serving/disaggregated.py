r"""Prefill/decode disaggregation: a prefill pool emits each request's first token, its KV
cache crosses the link to a decode pool, which decodes the remaining tokens.

.. math:: t_\mathrm{arrive,decode} = t_\mathrm{first\ token} + \ell_\mathrm{link}
          + \frac{P\, b_\mathrm{KV}}{BW_\mathrm{link}}

with P the prompt tokens and b_KV the KV bytes per token of the model (all layers). The
prefill pool runs every request with one output token; the decode pool admits the
arrivals with their prompt's pages and first token (``prefilled``), and recomputes by
prefilling when it preempts. Per-request results join both pools: first token from the
prefill pool, finish from the decode pool (or the prefill pool for one-token requests).
"""
import jax.numpy as jnp

from ..errors import ConfigError
from .policy import Policy
from .pool import Pool
from .requests import Requests, _concrete
from .scheduler import simulate
from .trace import Trace


def _pair(x, name):
    if x is None or isinstance(x, int):
        return x, x
    if isinstance(x, tuple) and len(x) == 2:
        return x
    raise ConfigError(f"{name} = {x!r}; must be an integer or a (prefill, decode) pair of integers")


def kv_transfer_s(pool: Pool, prompt_tokens, link_bw_bytes_per_s, link_latency_s):
    """Seconds to move the KV cache of ``prompt_tokens`` tokens over the link."""
    return link_latency_s + pool.kv_bytes(prompt_tokens) / link_bw_bytes_per_s


def simulate_disaggregated(requests: Requests, prefill_pool: Pool, decode_pool: Pool, link_bw_bytes_per_s,
                           link_latency_s, policy_prefill: Policy, policy_decode: Policy,
                           max_iterations=None, record_iterations: bool = True) -> Trace:
    """Serve ``requests`` on a prefill pool and a decode pool joined by a link
    (``link_bw_bytes_per_s`` > 0, ``link_latency_s`` >= 0). ``max_iterations``: one integer
    for both pools or a (prefill, decode) pair (static; default from concrete requests).
    Returns one Trace: ``iterations`` are the decode pool's, ``prefill_iterations`` the
    prefill pool's; totals (energy, idle power, KV pages) add both pools."""
    bw = _concrete(link_bw_bytes_per_s)
    if bw is not None and not bw > 0:
        raise ConfigError(f"link_bw_bytes_per_s = {bw!r}; must be > 0")
    lat = _concrete(link_latency_s)
    if lat is not None and not lat >= 0:
        raise ConfigError(f"link_latency_s = {lat!r}; must be >= 0")
    it_p, it_d = _pair(max_iterations, "max_iterations")
    r = requests
    ones = jnp.ones_like(r.output_tokens)
    first = simulate(Requests(r.arrival_s, r.prompt_tokens, ones, r.valid), prefill_pool, policy_prefill,
                     it_p, record_iterations)
    more = (r.valid > 0) & (r.output_tokens > 1) & jnp.isfinite(first.finish_s)
    arrive = first.finish_s + kv_transfer_s(prefill_pool, r.prompt_tokens, link_bw_bytes_per_s, link_latency_s)
    dreq = Requests(jnp.where(more, arrive, 0.0), r.prompt_tokens, r.output_tokens, jnp.where(more, 1.0, 0.0))
    second = simulate(dreq, decode_pool, policy_decode, it_d, record_iterations,
                      prefilled=jnp.ones_like(ones), last_token_s=jnp.where(more, first.first_token_s, 0.0))
    one = r.output_tokens <= 1
    both = lambda a, b: a + b
    return Trace(
        admitted_s=first.admitted_s, first_token_s=first.first_token_s,
        finish_s=jnp.where(one, first.finish_s, second.finish_s),
        preemptions=first.preemptions + second.preemptions,
        tokens=jnp.where(one, first.tokens, second.tokens),
        never_fit=jnp.maximum(first.never_fit, second.never_fit),
        kv_pages=both(first.kv_pages, second.kv_pages),
        iterations_run=both(first.iterations_run, second.iterations_run),
        exhausted=jnp.maximum(first.exhausted, second.exhausted),
        never_fit_count=jnp.maximum(first.never_fit, second.never_fit).sum(),
        busy_s=jnp.maximum(first.busy_s, second.busy_s), kv_page_s=both(first.kv_page_s, second.kv_page_s),
        kv_peak_pages=both(first.kv_peak_pages, second.kv_peak_pages),
        energy_dynamic_j=both(first.energy_dynamic_j, second.energy_dynamic_j),
        static_power_chip_w=both(first.static_power_chip_w, second.static_power_chip_w),
        static_power_node_w=both(first.static_power_node_w, second.static_power_node_w),
        itl_hist=second.itl_hist, itl_sum_s=second.itl_sum_s, itl_count=second.itl_count,
        iterations=second.iterations, prefill_iterations=first.iterations)


__all__ = ["kv_transfer_s", "simulate_disaggregated"]
