r"""A fleet of identical replicas behind a router.

Routers (static):

* ``round_robin``: the k-th request in arrival order goes to replica k mod R.
* ``least_outstanding``: each request goes to the replica with the least outstanding work
  (ties: lowest index), estimated as a fluid backlog of tokens (prompt + output) drained at
  the replica's full-batch decode rate, S / t_decode(S slots at the request mix's mean
  context) tokens/s. An estimate the router can compute at arrival time without
  simulating the replicas (a real least-outstanding router sees completions).

Each replica is then simulated on its share (``vmap`` over replicas, requests masked).
"""
import jax
import jax.numpy as jnp

from ..errors import ConfigError
from .policy import Policy
from .pool import Pool
from .requests import Requests
from .scheduler import iteration_bound, simulate
from .step import step_cost
from .trace import Trace

ROUTERS = ("round_robin", "least_outstanding")


def route(requests: Requests, pool: Pool, policy: Policy, replicas: int, router: str = "round_robin"):
    """Replica index (float array [N], -1 for padding) of every request."""
    if router not in ROUTERS:
        raise ConfigError(f"router {router!r} is not allowed; allowed: {', '.join(ROUTERS)}")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise ConfigError(f"replicas = {replicas!r}; must be an integer >= 1")
    r = requests
    valid = r.valid > 0
    order = jnp.lexsort((jnp.arange(r.n), jnp.where(valid, r.arrival_s, jnp.inf)))
    if router == "round_robin":
        rank = jnp.zeros((r.n,)).at[order].set(jnp.arange(r.n, dtype=jnp.result_type(float)))
        return jnp.where(valid, jnp.mod(rank, replicas), -1.0)
    S = float(policy.max_slots)
    n = jnp.maximum(valid.sum(), 1)
    ctx = jnp.where(valid, r.prompt_tokens + 0.5 * r.output_tokens, 0.0).sum() / n
    step_s, _ = step_cost(pool, S, S, ctx)
    rate = S / step_s
    work = r.prompt_tokens + r.output_tokens

    def assign(state, i):
        backlog, t_prev = state
        t = r.arrival_s[i]
        backlog = jnp.maximum(backlog - rate * jnp.maximum(t - t_prev, 0.0), 0.0)
        k = jnp.argmin(backlog)
        ok = valid[i]
        backlog = backlog.at[k].add(jnp.where(ok, work[i], 0.0))
        return (backlog, jnp.where(ok, t, t_prev)), jnp.where(ok, k.astype(backlog.dtype), -1.0)

    init = (jnp.zeros((replicas,), jnp.result_type(float)), jnp.zeros((), jnp.result_type(float)))
    _, ks = jax.lax.scan(assign, init, order)
    return jnp.zeros((r.n,), ks.dtype).at[order].set(ks)


def simulate_fleet(requests: Requests, pool: Pool, policy: Policy, replicas: int, router: str = "round_robin",
                   max_iterations: int | None = None, record_iterations: bool = True) -> Trace:
    """Serve ``requests`` on ``replicas`` copies of ``pool`` behind ``router``. Per-request
    fields are each request's own replica's; ``iterations`` and the totals have a leading
    replica axis ([R, I] and [R]); idle power and energy are of all replicas.
    ``max_iterations`` is per replica (static; default from concrete requests)."""
    where = route(requests, pool, policy, replicas, router)
    if max_iterations is None:
        max_iterations = iteration_bound(requests, policy)

    def one(k):
        mine = jnp.where(where == k, requests.valid, 0.0)
        return simulate(Requests(requests.arrival_s, requests.prompt_tokens, requests.output_tokens, mine),
                        pool, policy, max_iterations, record_iterations)

    ks = jnp.arange(replicas, dtype=jnp.result_type(float))
    tr = jax.vmap(one)(ks)
    pick = jnp.clip(where, 0, replicas - 1).astype(jnp.int32)
    take = lambda a: jnp.take_along_axis(a, pick[None, :], axis=0)[0]
    per_req = {k: take(getattr(tr, k)) for k in ("admitted_s", "first_token_s", "finish_s", "preemptions",
                                                  "tokens", "never_fit")}
    never = jnp.where(requests.valid > 0, per_req["never_fit"], 0.0)
    return Trace(**per_req, kv_pages=tr.kv_pages, iterations_run=tr.iterations_run, exhausted=tr.exhausted,
                 never_fit_count=never.sum(), busy_s=tr.busy_s, kv_page_s=tr.kv_page_s,
                 kv_peak_pages=tr.kv_peak_pages, energy_dynamic_j=tr.energy_dynamic_j,
                 static_power_chip_w=tr.static_power_chip_w, static_power_node_w=tr.static_power_node_w,
                 itl_hist=tr.itl_hist, itl_sum_s=tr.itl_sum_s, itl_count=tr.itl_count, iterations=tr.iterations)


__all__ = ["ROUTERS", "route", "simulate_fleet"]
