r"""Serving simulation of a serve config: one scenario's metrics, the highest arrival rate that
meets the SLOs, and throughput-per-chip vs speed-per-user curves (``codesign serve``).

A serve config (:mod:`codesign.config.serving`) names one pool (a design served by R
replicas behind a router) or a prefill pool and a decode pool joined by a link; the
simulator is :mod:`codesign.serving`.

**Round-robin fleets are simulated as one replica.** Round robin sends the k-th arrival to
replica k mod R, so each replica sees every R-th arrival of the stream: with gamma
inter-arrival gaps of shape a (Poisson: a = 1) and rate :math:`\lambda`, a replica's gaps are
sums of R of them, gamma of shape R a and rate :math:`\lambda / R`, i.e. a renewal stream
with

.. math:: \lambda_\mathrm{replica} = \lambda / R, \qquad \mathrm{cv}_\mathrm{replica} = \mathrm{cv} / \sqrt{R},

independent of the other replicas (lengths are i.i.d.). One replica serving
:math:`\lceil n / R \rceil` requests from that stream has the fleet's per-request latency
distribution exactly; fleet rates are R times the replica's. This is R times cheaper than
simulating every replica and is used for synthetic arrivals with ``router: round_robin``;
traces and ``least_outstanding`` simulate the whole fleet
(:func:`codesign.serving.simulate_fleet`).

**Max rate.** The highest rate :math:`\lambda^*` at which the SLO percentile of TTFT and of
TPOT are within their bounds (MLPerf Server's rule, :attr:`ServingMetrics.slo_met`): a
geometric grid of rates is evaluated in one vmapped call with common random numbers (the
same key: arrival times scale as 1/rate), widened until it brackets the first failing rate,
then refined by linear grids inside the bracket. Because every rate of one grid shares its
draws, a looser SLO never lowers :math:`\lambda^*`. The tokens/s reported at
:math:`\lambda^*` is the steady-state :math:`\lambda^* \bar n_\mathrm{out}` (what a long
benchmark run completes), next to the simulated completion rate (lower: it includes the
ramp-up and the drain of a finite run).
"""
import dataclasses
import math
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from .. import serving as sv
from ..config.serving import ServeConfig, load_serve_config
from ..config.writing import write_file
from ..errors import ConfigError
from ..model.serving import offline_jit
from ..progress import Progress
from ..specs import replace as spec_replace

#: Grid widening (x4 per round) and refining rounds of :func:`max_rate`.
_WIDEN_ROUNDS, _REFINE_ROUNDS = 4, 1


@dataclasses.dataclass(frozen=True, eq=False)
class Setup:
    """A serve config resolved into simulator values: pools, policies, SLO, request draws."""

    cfg: ServeConfig
    pools: tuple  # (pool,) or (prefill pool, decode pool)
    policies: tuple
    slo: sv.SLO
    reduced: bool  # round-robin fleet simulated as one replica (module docstring)
    n_sim: int  # requests in one simulation
    max_iterations: int | tuple

    @property
    def scale(self) -> int:
        """Fleet rates = simulated rates x scale (R when ``reduced``)."""
        return self.cfg.replicas if self.reduced else 1


def _policy(cfg: ServeConfig, max_slots=None) -> sv.Policy:
    p = cfg.policy
    return sv.Policy(kind=p["kind"], max_slots=int(max_slots or p["max_slots"]), token_budget=p["token_budget"],
                     page_tokens=p["page_tokens"], preempt=p["preempt"], max_requests=max(p["max_requests"], 1))


def _pool(design, policy):
    m = spec_replace(design.mapping, dp=jnp.asarray(1.0))
    return sv.make_pool(design.chip, design.system, design.workload, m, policy)


def _lengths(spec) -> sv.Lengths:
    hi = None if not math.isfinite(spec.hi) else spec.hi
    lo = spec.lo if spec.kind != "fixed" else None
    return sv.Lengths(spec.kind, float(spec.mean), float(spec.cv), lo, hi)


def requests_at(setup: Setup, rate_per_s, key=None) -> sv.Requests:
    """The simulated requests at fleet arrival rate ``rate_per_s`` (traceable in the rate)."""
    cfg = setup.cfg
    key = jax.random.PRNGKey(cfg.seed) if key is None else key
    if cfg.trace is not None:
        t = cfg.trace
        n = cfg.n_requests
        base = sv.requests_from_arrays(t.arrival_s[:n], t.prompt_tokens[:n], t.output_tokens[:n],
                                       capacity=cfg.policy["max_requests"])
        a0 = float(t.arrival_s[0])
        scale = t.rate_per_s / rate_per_s if math.isfinite(t.rate_per_s) else 1.0
        arr = jnp.where(base.valid > 0, a0 + (base.arrival_s - a0) * scale, 0.0)
        return sv.Requests(arr, base.prompt_tokens, base.output_tokens, base.valid)
    r = setup.scale
    kind = "gamma" if (cfg.arrival == "gamma" or r > 1) else "poisson"
    req = sv.make_requests(key, setup.n_sim, rate_per_s / r, kind, cfg.cv / math.sqrt(r),
                           _lengths(cfg.prompt), _lengths(cfg.output))
    if cfg.duration_s is not None:  # a run of fixed length: arrivals after it are not simulated
        req = sv.Requests(req.arrival_s, req.prompt_tokens, req.output_tokens,
                          jnp.where(req.arrival_s <= cfg.duration_s, req.valid, 0.0))
    return req


def sized_for(setup: Setup, hi_per_s: float) -> Setup:
    """With ``duration_s``: a setup whose request shape holds every arrival of the run up to
    fleet rate ``hi_per_s`` (mean + 6 sigma of the Poisson count, + 16), rounded up to a power
    of two so that nearby rates and other designs share one compiled program (padding
    requests are never admitted and cost almost nothing); else ``setup``."""
    cfg = setup.cfg
    if cfg.duration_s is None or cfg.trace is not None:
        return setup
    mean = hi_per_s / setup.scale * cfg.duration_s
    n = 2 ** int(math.ceil(math.log2(mean + 6.0 * math.sqrt(mean) + 16)))
    if n == setup.n_sim:
        return setup
    s = dataclasses.replace(setup, n_sim=n)
    req = requests_at(s, hi_per_s)
    every = sv.Requests(req.arrival_s, req.prompt_tokens, req.output_tokens, jnp.ones_like(req.valid))
    return dataclasses.replace(s, max_iterations=max(sv.iteration_bound(every, p) for p in s.policies))


def _anonymous(pool):
    """``pool`` with its spec names cleared: names never enter the arithmetic, and a static
    name would compile one program per preset."""
    return dataclasses.replace(pool, chip=dataclasses.replace(pool.chip, name="pool"),
                               system=dataclasses.replace(pool.system, name="pool"),
                               workload=dataclasses.replace(pool.workload, name="pool"))


#: Compiled vmapped grids, keyed by everything static of a setup (pools are arguments).
_COMPILED = {}


def _static_key(setup: Setup):
    c = setup.cfg
    return (setup.policies, setup.slo, setup.reduced, setup.n_sim, setup.max_iterations, c.arrival, c.cv, c.prompt,
            c.output, c.seed, c.duration_s, c.replicas, c.router, c.disaggregated, c.link_bw_bytes_per_s,
            c.link_latency_s, id(c.trace) if c.trace is not None else None, c.n_requests, c.policy["max_requests"])


def grid_fn(setup: Setup):
    """``(rates [k], pools) -> ServingMetrics [k]``: one compiled, vmapped simulation per
    static configuration, shared by every design (pools) with that configuration."""
    key = _static_key(setup)
    if key not in _COMPILED:
        def grid(rates, pools, setup=setup):
            s = dataclasses.replace(setup, pools=pools)
            return jax.vmap(lambda r: _metric_fn(s, False)(r)[0])(rates)

        _COMPILED[key] = jax.jit(grid)
    return _COMPILED[key]


def _simulate(setup: Setup, req, record: bool):
    cfg = setup.cfg
    if cfg.disaggregated:
        (pp, dp), (qp, qd) = setup.pools, setup.policies
        return sv.simulate_disaggregated(req, pp, dp, cfg.link_bw_bytes_per_s, cfg.link_latency_s, qp, qd,
                                         setup.max_iterations, record)
    pool, pol = setup.pools[0], setup.policies[0]
    if setup.reduced or cfg.replicas == 1:
        return sv.simulate(req, pool, pol, setup.max_iterations, record)
    return sv.simulate_fleet(req, pool, pol, cfg.replicas, cfg.router, setup.max_iterations, record)


def _check_fit(setup: Setup, req):
    """Not one request fits in a pool's KV cache -> ConfigError saying so, with the numbers."""
    valid = np.asarray(req.valid) > 0
    need = np.asarray(req.prompt_tokens)[valid] + np.asarray(req.output_tokens)[valid] - 1.0
    names = ("prefill pool", "decode pool") if setup.cfg.disaggregated else ("design",)
    designs = (setup.cfg.prefill, setup.cfg.decode) if setup.cfg.disaggregated else (setup.cfg.design,)
    for name, pool, pol, d in zip(names, setup.pools, setup.policies, designs):
        cap = float(pool.kv_capacity_tokens)
        page = pol.page_tokens
        need_here = np.asarray(req.prompt_tokens)[valid] if name == "prefill pool" else need
        smallest = float(np.ceil(need_here.min() / page) * page)
        if cap < smallest:
            raise ConfigError(
                f"{name}: not one request fits in the KV cache: {d.model.name} on {d.hardware.name} "
                f"(tp {int(d.mapping.tp)} x pp {int(d.mapping.pp)}) leaves {cap:.0f} tokens of KV per replica "
                f"beside the weights and the activations of max_slots = {pol.max_slots} / token_budget = "
                f"{pol.token_budget}; the smallest request needs {smallest:.0f} (prompt + output in pages of "
                f"{page}); allowed: more chips per replica (tp, pp), a smaller weight/KV dtype, shorter requests "
                f"or smaller policy.max_slots / token_budget")


def build_setup(config, overrides: dict | None = None) -> Setup:
    """Resolve ``config`` (a path, mapping or :class:`ServeConfig`) into a :class:`Setup`;
    checks that at least one request fits in each pool's KV cache."""
    cfg = load_serve_config(config, overrides)
    if cfg.disaggregated:
        pp = _policy(cfg, cfg.policy.get("prefill_max_slots"))
        pd = _policy(cfg)
        pools = (_pool(cfg.prefill, pp), _pool(cfg.decode, pd))
        policies = (pp, pd)
    else:
        policies = (_policy(cfg),)
        pools = (_pool(cfg.design, policies[0]),)
    reduced = (cfg.trace is None and not cfg.disaggregated and cfg.replicas > 1 and cfg.router == "round_robin")
    n_sim = -(-cfg.n_requests // cfg.replicas) if reduced else cfg.n_requests
    slo = sv.SLO(cfg.slo.ttft_s, cfg.slo.tpot_s, cfg.slo.percentile)
    setup = Setup(cfg, pools, policies, slo, reduced, n_sim, 1)
    req = requests_at(setup, cfg.rate_per_s)
    _check_fit(setup, req)
    bound = max(sv.iteration_bound(req, p) for p in policies)
    return sized_for(dataclasses.replace(setup, max_iterations=bound), cfg.rate_per_s)


def _metric_fn(setup: Setup, record: bool):
    def one(rate):
        req = requests_at(setup, rate)
        tr = _simulate(setup, req, record)
        return sv.summarize(req, tr, setup.slo), tr

    return one


_RATE_KEYS = ("output_tokens_per_s", "total_tokens_per_s", "requests_per_s", "goodput_requests_per_s")
_COUNT_KEYS = ("requests", "completed", "never_fit", "preemptions")


def _fleet(setup: Setup, m: dict) -> dict:
    """Simulated metrics -> the fleet's (x R for a reduced round-robin fleet)."""
    out = dict(m)
    for k in _RATE_KEYS + _COUNT_KEYS:
        out[k] = m[k] * setup.scale
    return out


def _describe(setup: Setup) -> dict:
    cfg = setup.cfg
    if cfg.disaggregated:
        pools = {"prefill": _design_row(cfg.prefill, setup.pools[0], setup.policies[0]),
                 "decode": _design_row(cfg.decode, setup.pools[1], setup.policies[1]),
                 "link_bw_bytes_per_s": cfg.link_bw_bytes_per_s, "link_latency_s": cfg.link_latency_s}
    else:
        pools = {"design": _design_row(cfg.design, setup.pools[0], setup.policies[0])}
    sim = (f"one replica of {cfg.replicas} (round-robin: every {cfg.replicas}-th arrival, gamma cv "
           f"{cfg.cv / math.sqrt(cfg.replicas):.3g}), {setup.n_sim} requests" if setup.reduced
           else f"{'prefill + decode pools' if cfg.disaggregated else f'{cfg.replicas} replica(s)'}, "
                f"{setup.n_sim} requests")
    return {"title": cfg.title, **pools, "chips": cfg.chips, "replicas": cfg.replicas, "router": cfg.router,
            "arrival": cfg.arrival, "cv": cfg.cv, "n_requests": cfg.n_requests, "seed": cfg.seed,
            "policy": dict(cfg.policy),
            "slo": {"ttft_s": cfg.slo.ttft_s, "tpot_s": cfg.slo.tpot_s, "percentile": cfg.slo.percentile,
                    "name": cfg.slo.name},
            "simulated": sim}


def _design_row(d, pool, pol) -> dict:
    m = d.mapping
    return {"hardware": d.hardware.name, "model": d.model.name, "weight_dtype": d.workload.weight_dtype,
            "kv_dtype": d.workload.kv_dtype, "tp": int(m.tp), "pp": int(m.pp), "dp": int(m.dp),
            "chips_per_replica": int(m.tp) * int(m.pp), "kv_capacity_tokens": float(pool.kv_capacity_tokens),
            "max_slots": pol.max_slots}


def _host(tree) -> dict:
    return {k: float(v) for k, v in tree.to_dict().items()}


def run_serve(config, rate_per_s=None, n_requests=None, seed=None, progress=None, series: bool = False) -> dict:
    """Simulate one scenario of a serve config.

    Args:
        config: serve config path, mapping or :class:`~codesign.config.serving.ServeConfig`.
        rate_per_s, n_requests, seed: override the config's (None keeps them).
        progress: called with :class:`~codesign.progress.Progress` (start and end).
        series: add per-request latencies and the per-iteration series (for plots).

    Returns:
        {config description..., rate_per_s, metrics: {ServingMetrics fields, fleet totals},
        output_tokens_per_s_per_chip, wall_s[, per_request, iterations]}.
    """
    t0 = time.perf_counter()
    setup = build_setup(config, {"rate_per_s": rate_per_s, "n_requests": n_requests, "seed": seed})
    setup = sized_for(setup, setup.cfg.rate_per_s)
    if progress is not None:
        progress(Progress("serve", 0.0, 0, 1, "scenarios", message="compiling and simulating"))
    m, tr = jax.jit(_metric_fn(setup, series))(jnp.asarray(setup.cfg.rate_per_s))
    metrics = _fleet(setup, _host(m))
    out = {**_describe(setup), "rate_per_s": setup.cfg.rate_per_s, "metrics": metrics,
           "output_tokens_per_s_per_chip": metrics["output_tokens_per_s"] / setup.cfg.chips}
    if metrics["never_fit"] > 0:
        out["warning"] = (f"{metrics['never_fit']:.0f} request(s) never fit in the KV cache (prompt + output "
                          "larger than the whole cache) and were not served")
    if metrics["exhausted"] > 0:
        out["warning"] = "the simulation ran out of iterations with work left (metrics cover what finished)"
    if series:
        out["per_request"] = _per_request(setup, tr)
        out["iterations"] = _iterations(tr)
    out["wall_s"] = time.perf_counter() - t0
    if progress is not None:
        progress(Progress("serve", 1.0, 1, 1, "scenarios", elapsed_s=out["wall_s"]))
    return out


def _per_request(setup: Setup, tr) -> dict:
    req = requests_at(setup, setup.cfg.rate_per_s)
    v = np.asarray(req.valid) > 0
    arr = np.asarray(req.arrival_s)[v]
    first, fin = np.asarray(tr.first_token_s)[v], np.asarray(tr.finish_s)[v]
    out_tok = np.asarray(req.output_tokens)[v]
    ttft = first - arr
    tpot = np.where(out_tok > 1, (fin - first) / np.maximum(out_tok - 1, 1), np.nan)
    return {"ttft_s": ttft.tolist(), "tpot_s": tpot.tolist(), "e2e_s": (fin - arr).tolist()}


def _iterations(tr) -> dict:
    it = tr.iterations
    if it is None:
        return {}
    a = {k: np.asarray(getattr(it, k)) for k in ("time_s", "batch", "prefill_tokens", "decode_tokens",
                                                 "kv_used_pages", "active")}
    if a["time_s"].ndim > 1:  # a fleet: replica 0
        a = {k: v[0] for k, v in a.items()}
    keep = a.pop("active") > 0
    return {k: v[keep].tolist() for k, v in a.items()}


def capacity_rate(setup: Setup) -> float:
    """Steady-state request rate at the largest batch that fits (the closed-form model of
    :func:`codesign.model.serving.offline` at the mean lengths): the max-rate grid's centre."""
    cfg = setup.cfg
    mean_p, mean_o = _mean_lengths(setup)
    rates = []
    designs = (cfg.prefill, cfg.decode) if cfg.disaggregated else (cfg.design,)
    for d in designs:
        sc = spec_replace(d.scenario, prompt_tokens=jnp.asarray(mean_p), output_tokens=jnp.asarray(mean_o))
        m = spec_replace(d.mapping, dp=jnp.asarray(1.0 if cfg.disaggregated else float(cfg.replicas)))
        x = float(offline_jit(d.chip, d.system, d.workload, m, sc).metrics.throughput_tokens_per_s)
        rates.append(x / mean_o)
    r = min(rates)
    return r if math.isfinite(r) and r > 0 else 1.0


def system_cost(setup: Setup) -> dict:
    """capex and lifetime TCO (USD) of the whole served system, both pools for a split (the
    cost model at each design's mapping), with the lifetime (years) and utilization of the
    (decode) system."""
    from ..model import evaluate_jit  # noqa: PLC0415

    cfg = setup.cfg
    designs = (cfg.prefill, cfg.decode) if cfg.disaggregated else (cfg.design,)
    capex = tco = 0.0
    for d in designs:
        m = d.mapping if cfg.disaggregated else spec_replace(d.mapping, dp=jnp.asarray(float(cfg.replicas)))
        r = evaluate_jit(d.chip, d.system, d.workload, m, d.scenario)
        capex += float(r.capex_usd)
        tco += float(r.tco_usd)
    sysd = designs[-1].system
    return {"capex_usd": capex, "tco_usd": tco, "lifetime_years": float(sysd.lifetime_years),
            "utilization": float(sysd.utilization)}


def _mean_lengths(setup: Setup) -> tuple[float, float]:
    cfg = setup.cfg
    if cfg.trace is not None:
        n = cfg.n_requests
        return float(cfg.trace.prompt_tokens[:n].mean()), float(cfg.trace.output_tokens[:n].mean())
    return float(cfg.prompt.mean), float(cfg.output.mean)


class RateGrid:
    """``rates (points,) -> [fleet metrics row]``: one vectorized call of :func:`grid_fn`
    per list of rates, with the request shape :func:`sized_for` the highest rate seen (it
    only grows, so refining never recompiles); counts calls for ``progress``."""

    def __init__(self, setup: Setup, points: int, progress, total_calls: int, task: str):
        self.setup, self.points, self.progress, self.total, self.task = setup, points, progress, total_calls, task
        self.calls, self.t0 = 0, time.perf_counter()

    def __call__(self, rates) -> list[dict]:
        rates = np.asarray(rates, float)
        self.hi = max(getattr(self, "hi", 0.0), float(rates.max()))  # the shape only grows: no recompile
        s = sized_for(self.setup, self.hi)
        m = grid_fn(s)(jnp.asarray(rates), tuple(_anonymous(p) for p in s.pools))
        rows = [_fleet(s, {k: float(np.asarray(getattr(m, k))[i]) for k in sv.METRIC_NAMES})
                for i in range(len(rates))]
        self.n_sim = s.n_sim
        self.calls += 1
        if self.progress is not None:
            el = time.perf_counter() - self.t0
            self.progress(Progress(self.task, min(self.calls / self.total, 0.999), self.calls * self.points,
                                   self.total * self.points, "scenarios", elapsed_s=el,
                                   rate_per_s=self.calls * self.points / el if el > 0 else None,
                                   eta_s=el / self.calls * max(self.total - self.calls, 0)))
        return rows


def meets_slo(row: dict, ttft_s: float, tpot_s: float) -> bool:
    """MLPerf Server's rule on one simulated scenario: every request completed and the SLO
    percentile of TTFT and of TPOT within ``ttft_s`` and ``tpot_s`` (host-side, so one
    compiled grid serves any bounds at the same percentile)."""
    return bool(row["completed"] >= row["requests"] and row["exhausted"] == 0
                and row["ttft_slo_s"] <= ttft_s and row["tpot_slo_s"] <= tpot_s)


def search_max_rate(evaluate, ok, lo: float, hi: float, points: int):
    """The highest rate with ``ok`` before the first failing rate, on grids of ``points`` rates.

    ``evaluate(rates) -> [row]`` is one vectorized call. A geometric grid on [lo, hi] is
    widened (x1/16 below, x4 above, up to :data:`_WIDEN_ROUNDS` times) until it holds a
    passing rate followed by a failing one, then the bracket [last pass, first fail] is
    refined by :data:`_REFINE_ROUNDS` linear grids. Failures above the first are ignored,
    so with common random numbers a predicate that holds on more rows (a looser SLO) never
    gives a lower rate.

    Returns:
        (rate, row at rate or None, bracket [pass, fail], grid [(rate, row)]); rate 0.0
        when even the lowest rate fails; bracket [rate, inf] when no rate failed.
    """
    grid = []

    def run(rates):
        rows = evaluate(rates)
        grid.extend(zip((float(r) for r in rates), rows))
        return rows

    rates = np.geomspace(lo, hi, points)
    rows = run(rates)
    for _ in range(_WIDEN_ROUNDS):
        if not ok(rows[0]):  # even the lowest fails: look lower
            hi, lo = rates[0], rates[0] / 16.0
        elif all(ok(r) for r in rows):  # all pass: look higher
            lo, hi = rates[-1], rates[-1] * 4.0
        else:
            break
        if hasattr(evaluate, "total"):
            evaluate.total += 1
        rates = np.geomspace(lo, hi, points)
        rows = run(rates)
    fails = [i for i, r in enumerate(rows) if not ok(r)]
    if not fails:  # never failed within the widening: the highest rate tried is a lower bound
        return float(rates[-1]), rows[-1], [float(rates[-1]), math.inf], grid
    if fails[0] == 0:
        return 0.0, None, [0.0, float(rates[0])], grid
    j = fails[0]
    a, b = float(rates[j - 1]), float(rates[j])
    best = rows[j - 1]
    for _ in range(_REFINE_ROUNDS):
        rr = np.linspace(a, b, points + 2)[1:-1]
        rws = run(rr)
        f = [i for i, r in enumerate(rws) if not ok(r)]
        k = f[0] if f else len(rr)
        if k > 0:
            a, best = float(rr[k - 1]), rws[k - 1]
        if k < len(rr):
            b = float(rr[k])
    return a, best, [a, b], grid


def max_rate(config, points: int | None = None, lo_per_s=None, hi_per_s=None, n_requests=None, seed=None,
             progress=None) -> dict:
    """The highest fleet arrival rate whose SLO percentile TTFT and TPOT meet the SLO.

    Args:
        config: serve config (path, mapping or ServeConfig); its ``max_rate`` block gives
            defaults for ``points``, ``lo_per_s``, ``hi_per_s``.
        points: rates per vmapped call (default 16).
        lo_per_s, hi_per_s: first grid (default: 1/8x to 1.5x the closed-form capacity rate).
        progress: called with :class:`~codesign.progress.Progress` after each vmapped call.

    Returns:
        {config description..., max_rate_per_s (0.0 when even the lowest rate fails),
        bracket_per_s [highest passing, lowest failing], output_tokens_per_s (steady state =
        max rate x mean output tokens), output_tokens_per_s_per_chip, goodput_requests_per_s,
        at_max_rate (the simulated metrics there), grid (every rate evaluated, with slo_met,
        ttft_slo_s, tpot_slo_s), evaluations, calls, wall_s}.
    """
    t0 = time.perf_counter()
    setup = build_setup(config, {"n_requests": n_requests, "seed": seed})
    cfg = setup.cfg
    block = cfg.max_rate
    points = int(points or block["points"])
    if points < 2:
        raise ConfigError(f"points = {points}; allowed: an integer >= 2")
    cap = capacity_rate(setup)
    lo = float(lo_per_s or block["lo_per_s"] or cap / 8.0)
    hi = float(hi_per_s or block["hi_per_s"] or cap * 1.5)
    if not (lo > 0 and hi > lo):
        raise ConfigError(f"max-rate grid lo_per_s = {lo!r}, hi_per_s = {hi!r}; allowed: 0 < lo < hi")
    ev = RateGrid(setup, points, progress, 1 + _REFINE_ROUNDS + 1, "max-rate")
    slo = cfg.slo
    rate, at, bracket, grid = search_max_rate(ev, lambda row: meets_slo(row, slo.ttft_s, slo.tpot_s), lo, hi, points)
    mean_p, mean_o = _mean_lengths(setup)
    out = {**_describe(setup), "max_rate_per_s": rate, "bracket_per_s": bracket,
           "closed_form_capacity_per_s": cap, "mean_prompt_tokens": mean_p, "mean_output_tokens": mean_o,
           "output_tokens_per_s": rate * mean_o, "output_tokens_per_s_per_chip": rate * mean_o / cfg.chips,
           "goodput_requests_per_s": at["goodput_requests_per_s"] if at else 0.0,
           "at_max_rate": at or {},
           "grid": [{"rate_per_s": float(r), "slo_met": meets_slo(m, slo.ttft_s, slo.tpot_s), "ttft_slo_s": m["ttft_slo_s"],
                     "tpot_slo_s": m["tpot_slo_s"], "output_tokens_per_s": m["output_tokens_per_s"]}
                    for r, m in sorted(grid, key=lambda g: g[0])],
           "evaluations": len(grid), "calls": ev.calls}
    out["wall_s"] = time.perf_counter() - t0
    if progress is not None:
        progress(Progress("max-rate", 1.0, len(grid), len(grid), "scenarios", best=rate, elapsed_s=out["wall_s"]))
    return out


CURVE_COLUMNS = ("rate_per_s", "concurrency", "output_tokens_per_s", "output_tokens_per_s_per_chip",
                 "tokens_per_s_per_user", "ttft_mean_s", "ttft_slo_s", "tpot_mean_s", "tpot_slo_s",
                 "goodput_requests_per_s", "slo_met", "kv_utilization", "joules_per_token_chip")


def curve(config, out_dir=None, points: int | None = None, n_requests=None, seed=None, progress=None,
          label: str | None = None) -> dict:
    """Tokens/s per chip vs tokens/s per user over a sweep of arrival rates (one vmapped call).

    Each rate is a point: per user = 1 / mean TPOT, per chip = completed output tokens/s /
    chips, concurrency = rate x mean end-to-end latency (Little's law). The sweep spans 1/32x
    to 1.25x the closed-form capacity rate, geometrically. With ``out_dir``, writes
    ``curve.csv`` (and ``curve.parquet`` when pyarrow is installed) and ``curve.png``.

    Returns:
        {config description..., rows: [{CURVE_COLUMNS}], files: [...], wall_s}.
    """
    t0 = time.perf_counter()
    setup = build_setup(config, {"n_requests": n_requests, "seed": seed})
    cap = capacity_rate(setup)
    points = int(points or setup.cfg.curve["points"])
    rates = np.geomspace(cap / 32.0, cap * 1.25, points)
    ev = RateGrid(setup, points, progress, 1, "curve")
    rows = [_curve_row(setup, float(r), m) for r, m in zip(rates, ev(rates))]
    out = {**_describe(setup), "rows": rows, "files": []}
    if out_dir is not None:
        out["files"] = write_curve(rows, out_dir, [(label or setup.cfg.title or "simulated", rows)],
                                   title=setup.cfg.title, slo_tpot_s={f"TPOT {setup.cfg.slo.tpot_s:g} s":
                                                                      setup.cfg.slo.tpot_s})
    out["wall_s"] = time.perf_counter() - t0
    if progress is not None:
        progress(Progress("curve", 1.0, points, points, "scenarios", elapsed_s=out["wall_s"]))
    return out


def _curve_row(setup: Setup, rate: float, m: dict) -> dict:
    chips = setup.cfg.chips
    return {"rate_per_s": rate, "concurrency": rate * m["e2e_mean_s"], "output_tokens_per_s": m["output_tokens_per_s"],
            "output_tokens_per_s_per_chip": m["output_tokens_per_s"] / chips,
            "tokens_per_s_per_user": 1.0 / m["tpot_mean_s"] if m["tpot_mean_s"] > 0 else math.nan,
            "ttft_mean_s": m["ttft_mean_s"], "ttft_slo_s": m["ttft_slo_s"], "tpot_mean_s": m["tpot_mean_s"],
            "tpot_slo_s": m["tpot_slo_s"], "goodput_requests_per_s": m["goodput_requests_per_s"],
            "slo_met": bool(m["slo_met"] > 0), "kv_utilization": m["kv_utilization"],
            "joules_per_token_chip": m["joules_per_token_chip"]}


def write_curve(rows: list[dict], out_dir, curves, title: str = "", slo_tpot_s=None, name: str = "curve") -> list[str]:
    """Write ``rows`` as DIR/name.csv (+ .parquet with pyarrow) and ``curves`` ([(label, rows)])
    as DIR/name.png; returns the files written."""
    from ..plots.serving import plot_curves  # noqa: PLC0415 (matplotlib only when writing)

    os.makedirs(out_dir, exist_ok=True)
    cols = list(rows[0]) if rows else list(CURVE_COLUMNS)
    lines = [",".join(cols)] + [",".join(_cell(r[c]) for c in cols) for r in rows]
    files = [os.path.join(out_dir, f"{name}.csv")]
    write_file(files[0], "\n".join(lines) + "\n", "curve table")
    try:
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.parquet as pq  # noqa: PLC0415
    except ImportError:
        pa = None
    if pa is not None:
        from ..config.writing import atomic_path  # noqa: PLC0415

        path = os.path.join(out_dir, f"{name}.parquet")
        with atomic_path(path, "curve table") as tmp:
            pq.write_table(pa.table({c: [r[c] for r in rows] for c in cols}), tmp)
        files.append(path)
    data = [(lab, [r["tokens_per_s_per_user"] for r in rs], [r["output_tokens_per_s_per_chip"] for r in rs])
            for lab, rs in curves]
    files.append(plot_curves(data, os.path.join(out_dir, f"{name}.png"), title=title, slo_tpot_s=slo_tpot_s))
    return files


def _cell(v) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return str(v)


def write_plots(result: dict, out_dir) -> list[str]:
    """The plots of a :func:`run_serve` result made with ``series=True``: per-iteration
    time series and latency CDFs under ``out_dir``; returns the files."""
    from ..plots.serving import plot_latency_cdf, plot_timeseries  # noqa: PLC0415

    os.makedirs(out_dir, exist_ok=True)
    files = []
    it = result.get("iterations") or {}
    if it:
        files.append(plot_timeseries(it["time_s"], {"sequences in batch": it["batch"],
                                                    "prefill tokens": it["prefill_tokens"],
                                                    "KV pages held": it["kv_used_pages"]},
                                     os.path.join(out_dir, "timeseries.png"), title=result.get("title", "")))
    pr = result.get("per_request") or {}
    if pr:
        slo = result["slo"]
        files.append(plot_latency_cdf({"TTFT": pr["ttft_s"], "TPOT": pr["tpot_s"], "end-to-end": pr["e2e_s"]},
                                      os.path.join(out_dir, "latency.png"),
                                      bounds={"TTFT": slo["ttft_s"], "TPOT": slo["tpot_s"]},
                                      title=result.get("title", "")))
    return files


__all__ = ["CURVE_COLUMNS", "Setup", "RateGrid", "build_setup", "capacity_rate", "curve", "grid_fn", "max_rate", "meets_slo", "requests_at", "run_serve",
           "search_max_rate", "system_cost", "write_curve",
           "write_plots"]
