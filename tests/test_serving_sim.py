"""The JAX serving simulator against its plain-Python reference, the closed-form model, KV
invariants, and bad input."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import codesign as cd
import codesign.serving as sv
from codesign.serving import reference
from codesign.specs import replace

N, S, ITERS = 24, 4, 8192


@pytest.fixture(scope="module")
def h100():
    hw, md = cd.load_hardware("h100-sxm"), cd.load_model("llama-2-70b")
    return hw.chip, hw.system, md.workload("fp16", "fp16", "fp16")


def _pool(h100, policy, kv_tokens, tp=8.0, pp=1.0):
    chip, system, w = h100
    m = cd.Mapping(tp=tp, pp=pp, ep=1.0, dp=1.0, batch=1.0)
    return sv.make_pool(chip, system, w, m, policy, kv_capacity=kv_tokens)


def _scenario(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(N - 8, N + 1))  # some padding
    gaps = rng.exponential(1.0 / rng.uniform(20.0, 400.0), n)
    arr = np.cumsum(gaps)
    if seed % 3 == 0:
        arr[rng.integers(0, n, 3)] = arr[0]  # simultaneous arrivals
    P = rng.integers(4, 48, n).astype(float)
    O = rng.integers(1, 32, n).astype(float)
    return sv.requests_from_arrays(arr, P, O, capacity=N), float(rng.choice([48.0, 96.0, 160.0, 4096.0]))


POLICIES = {
    "fcfs": sv.Policy("fcfs", max_slots=S, token_budget=64, page_tokens=8),
    "chunked": sv.Policy("chunked", max_slots=S, token_budget=24, page_tokens=8),
    "fcfs_none": sv.Policy("fcfs", max_slots=S, token_budget=64, page_tokens=8, preempt="none"),
}


@pytest.fixture(scope="module")
def sims():
    """One simulation per policy: (requests, pool) -> Trace (simulate caches its compiled
    program per policy, so the disaggregated test reuses these)."""
    return {name: (lambda r, p, pol=pol: sv.simulate(r, p, pol, ITERS, record_iterations=False))
            for name, pol in POLICIES.items()}


def _ref(req, pool, pol):
    return reference.run(np.asarray(req.arrival_s), np.asarray(req.prompt_tokens), np.asarray(req.output_tokens),
                         np.asarray(req.valid), pool, pol)


@pytest.fixture(scope="module")
def agreement(h100, sims):
    """Per policy: (JAX trace, reference result, requests) for 8 seeded scenarios each."""
    out = {}
    with jax.enable_x64(True):
        for name, pol in POLICIES.items():
            sim = sims[name]
            rows = []
            for seed in range(8):
                req, kv = _scenario(seed + 100 * len(out))
                pool = _pool(h100, pol, kv)
                tr = jax.device_get(sim(req, pool))
                rows.append((tr, _ref(req, pool, pol), req))
            out[name] = rows
    return out


def _close(a, b, mask):
    a, b = np.asarray(a)[mask], np.asarray(b)[mask]
    assert np.array_equal(np.isfinite(a), np.isfinite(b)), (a, b)
    f = np.isfinite(a)
    np.testing.assert_allclose(a[f], b[f], rtol=1e-6, atol=0)


@pytest.mark.parametrize("name", list(POLICIES))
def test_jax_matches_reference(agreement, name):
    preempted = 0
    for tr, ref, req in agreement[name]:
        v = np.asarray(req.valid) > 0
        for k in ("admitted_s", "first_token_s", "finish_s"):
            _close(getattr(tr, k), ref[k], v)
        np.testing.assert_array_equal(np.asarray(tr.preemptions)[v], ref["preemptions"][v])
        np.testing.assert_array_equal(np.asarray(tr.never_fit)[v], ref["never_fit"][v])
        assert float(tr.iterations_run) == ref["iterations"]
        assert float(tr.exhausted) == 0.0
        done = np.isfinite(ref["finish_s"]) & v
        np.testing.assert_array_equal(np.asarray(tr.tokens)[done], np.asarray(req.output_tokens)[done])
        preempted += ref["preemptions"].sum()
    if POLICIES[name].preempt == "none":
        assert preempted == 0
    else:
        assert preempted > 0  # the scenarios exercise preemption


def test_disaggregated_matches_reference(h100, agreement):
    """Prefill pool (fcfs, H100 TP8) -> link -> decode pool (chunked, TP4, small KV: preempts)."""
    pp_, dp_ = POLICIES["fcfs"], POLICIES["chunked"]
    bw, lat = 4.0e9, 2e-5
    with jax.enable_x64(True):
        run = lambda r, a, b: sv.simulate_disaggregated(r, a, b, bw, lat, pp_, dp_, ITERS, False)
        pre = 0.0
        for seed in range(4):
            req, kv = _scenario(seed + 7)
            a, b = _pool(h100, pp_, 4096.0), _pool(h100, dp_, min(kv, 160.0), tp=4.0)
            tr = jax.device_get(run(req, a, b))
            ref = reference.run_disaggregated(np.asarray(req.arrival_s), np.asarray(req.prompt_tokens),
                                              np.asarray(req.output_tokens), np.asarray(req.valid), a, b, bw, lat,
                                              pp_, dp_)
            v = np.asarray(req.valid) > 0
            for k in ("admitted_s", "first_token_s", "finish_s"):
                _close(getattr(tr, k), ref[k], v)
            np.testing.assert_array_equal(np.asarray(tr.preemptions)[v], ref["preemptions"][v])
            pre += ref["preemptions"][v].sum()
            # the decode pool starts no earlier than first token + KV transfer of the prompt
            more = v & (np.asarray(req.output_tokens) > 1) & np.isfinite(ref["finish_s"])
            move = lat + np.asarray(req.prompt_tokens) * float(a.kv_bytes(1.0)) / bw
            assert np.all(np.asarray(tr.finish_s)[more] >= np.asarray(tr.first_token_s)[more] + move[more])
        assert pre > 0


def test_invariants(agreement):
    """Timestamps ordered, KV never over capacity, FCFS first admissions in arrival order,
    every completed request produced all its tokens."""
    for rows in agreement.values():
        for tr, _, req in rows:
            v = (np.asarray(req.valid) > 0) & (np.asarray(tr.never_fit) == 0)
            arr, adm = np.asarray(req.arrival_s)[v], np.asarray(tr.admitted_s)[v]
            first, fin = np.asarray(tr.first_token_s)[v], np.asarray(tr.finish_s)[v]
            assert np.all(arr <= adm) and np.all(adm < first) and np.all(first <= fin)
            o = np.lexsort((np.flatnonzero(v), arr))
            assert np.all(np.diff(adm[o]) >= 0)
            assert float(tr.kv_peak_pages) <= float(tr.kv_pages)
            assert float(tr.iterations_run) > 0


def test_closed_form_throughput_and_tpot(h100, sims):
    """Constant lengths, all requests queued at t=0 (the 4 slots' prompts fill the token
    budget: one prefill iteration, then decodes in lockstep): output tokens/s and TPOT equal
    the model's throughput and decode time at batch 4 within 1%."""
    chip, system, w = h100
    P, O = 16.0, 1024.0
    pol = POLICIES["fcfs"]
    n = np.zeros(N)
    req = sv.requests_from_arrays(n, n + P, n + O)
    with jax.enable_x64(True):
        pool = _pool(h100, pol, 1e6)
        tr = sims["fcfs"](req, pool)
        got = sv.summarize(req, tr, sv.SLO())
        m = cd.Mapping(tp=8.0, pp=1.0, ep=1.0, dp=1.0, batch=float(S))
        ref = cd.evaluate(chip, system, w, m, cd.Scenario(P, O, prefill_chunk_tokens=P))
    assert float(got.completed) == N and float(tr.exhausted) == 0
    np.testing.assert_allclose(float(got.output_tokens_per_s), float(ref.throughput_tokens_per_s), rtol=0.01)
    np.testing.assert_allclose(float(got.tpot_mean_s), float(ref.decode_s_per_token), rtol=0.01)
    np.testing.assert_allclose(float(got.tpot_p99_s), float(ref.decode_s_per_token), rtol=0.01)


def test_nothing_fits_is_reported(h100, sims):
    req, _ = _scenario(3)
    with jax.enable_x64(True):
        tr = sims["fcfs"](req, _pool(h100, POLICIES["fcfs"], 0.0))
        m = sv.summarize(req, tr, sv.SLO())
    n = float(np.sum(req.valid))
    assert float(tr.never_fit_count) == n and float(m.never_fit) == n
    assert float(m.completed) == 0 and float(m.goodput_requests_per_s) == 0 and float(m.slo_met) == 0
    assert all(np.isfinite(v) for v in m.to_dict().values())
    assert np.all(np.isinf(np.asarray(tr.finish_s)))


def test_summary_golden():
    """Hand-computed metrics of a two-request trace (numpy "linear" percentiles)."""
    req = sv.requests_from_arrays([0.0, 1.0], [10.0, 20.0], [3.0, 1.0])
    z = jnp.zeros(())
    tr = sv.Trace(admitted_s=jnp.array([0.5, 1.0]), first_token_s=jnp.array([1.0, 3.0]),
                  finish_s=jnp.array([2.0, 3.0]), preemptions=jnp.array([1.0, 0.0]), tokens=jnp.array([3.0, 1.0]),
                  never_fit=jnp.zeros(2), kv_pages=jnp.array(10.0), iterations_run=z, exhausted=z,
                  never_fit_count=z, busy_s=jnp.array(1.5), kv_page_s=jnp.array(6.0), kv_peak_pages=jnp.array(5.0),
                  energy_dynamic_j=jnp.array(8.0), static_power_chip_w=jnp.array(1.0),
                  static_power_node_w=jnp.array(2.0), itl_hist=jnp.zeros(sv.trace.ITL_BINS), itl_sum_s=z,
                  itl_count=z)
    m = sv.summarize(req, tr, sv.SLO(ttft_s=1.5, tpot_s=1.0, percentile=50.0)).to_dict()
    strict = sv.summarize(req, tr, sv.SLO(ttft_s=1.5, tpot_s=1.0, percentile=90.0))
    assert float(strict.slo_met) == 0.0  # p90 TTFT 1.9 > 1.5
    assert m["ttft_mean_s"] == pytest.approx(1.5) and m["ttft_p50_s"] == pytest.approx(1.5)
    assert m["ttft_p90_s"] == pytest.approx(1.0 + 0.9 * 1.0)
    assert m["tpot_mean_s"] == pytest.approx(0.5)  # (2 - 1) / (3 - 1); the 1-token request has none
    assert m["e2e_p50_s"] == pytest.approx(2.0) and m["queue_mean_s"] == pytest.approx(0.25)
    assert m["span_s"] == pytest.approx(3.0) and m["output_tokens_per_s"] == pytest.approx(4.0 / 3.0)
    assert m["total_tokens_per_s"] == pytest.approx(34.0 / 3.0)
    assert m["goodput_requests_per_s"] == pytest.approx(1.0 / 3.0)  # request 2: TTFT 2 > 1.5
    assert m["slo_attainment"] == pytest.approx(0.5) and m["slo_met"] == 1.0  # p50 TTFT 1.5, p50 TPOT 0.5
    assert m["kv_utilization"] == pytest.approx(6.0 / 30.0) and m["kv_peak_utilization"] == pytest.approx(0.5)
    assert m["joules_per_token_chip"] == pytest.approx((8.0 + 3.0) / 4.0)
    assert m["joules_per_token_node"] == pytest.approx((8.0 + 6.0) / 4.0)


def test_make_requests_rates_and_lengths():
    key = jax.random.PRNGKey(1)
    r = sv.make_requests(key, 2000, 8.0, "gamma", cv=2.0, prompt=sv.Lengths("lognormal", 300.0, 0.5),
                         output=sv.Lengths("uniform", 100.0, lo=50.0, hi=150.0))
    gaps = np.diff(np.asarray(r.arrival_s))
    assert np.mean(gaps) == pytest.approx(1 / 8.0, rel=0.1) and np.std(gaps) / np.mean(gaps) == pytest.approx(2.0, rel=0.15)
    assert np.mean(np.asarray(r.prompt_tokens)) == pytest.approx(300.0, rel=0.05)
    out = np.asarray(r.output_tokens)
    assert out.min() >= 50 and out.max() <= 150 and np.all(out == np.round(out))
    fixed = sv.make_requests(key, 5, 1.0)
    assert np.all(np.asarray(fixed.prompt_tokens) == 512.0) and np.all(np.asarray(fixed.valid) == 1.0)


def test_round_robin_and_least_outstanding(h100):
    pol = POLICIES["fcfs"]
    pool = _pool(h100, pol, 4096.0)
    req = sv.requests_from_arrays([3e-4, 1e-4, 2e-4, 4e-4, 9.0], [8.0] * 5, [4.0] * 5, capacity=6)
    rr = np.asarray(sv.route(req, pool, pol, 2, "round_robin"))
    np.testing.assert_array_equal(rr, [0.0, 0.0, 1.0, 1.0, 0.0, -1.0])
    lo = np.asarray(sv.route(req, pool, pol, 3, "least_outstanding"))
    # a burst spreads over the replicas; after the backlog drains, ties go to replica 0
    np.testing.assert_array_equal(lo, [2.0, 0.0, 1.0, 0.0, 0.0, -1.0])


@pytest.mark.parametrize("make, field", [
    (lambda: sv.make_requests(jax.random.PRNGKey(0), 4, 0.0), "rate_per_s"),
    (lambda: sv.make_requests(jax.random.PRNGKey(0), 4, -1.0), "rate_per_s"),
    (lambda: sv.make_requests(jax.random.PRNGKey(0), 4, 1.0, "gamma", cv=-0.5), "cv"),
    (lambda: sv.make_requests(jax.random.PRNGKey(0), 4, 1.0, "weibull"), "arrival"),
    (lambda: sv.Lengths("fixed", 0.0), "mean"),
    (lambda: sv.Lengths("lognormal", 100.0, cv=-1.0), "cv"),
    (lambda: sv.Lengths("pareto", 100.0), "kind"),
    (lambda: sv.requests_from_arrays([0.0, 1.0], [10.0, 0.0], [5.0, 5.0]), "prompt_tokens[1]"),
    (lambda: sv.requests_from_arrays([0.0, -1.0], [10.0, 1.0], [5.0, 5.0]), "arrival_s[1]"),
    (lambda: sv.requests_from_arrays([0.0, 1.0], [10.0, 1.0], [5.0, float("nan")]), "output_tokens[1]"),
    (lambda: sv.requests_from_arrays([0.0, 1.0, 2.0], [1.0] * 3, [1.0] * 3, capacity=2), "max_requests"),
    (lambda: sv.SLO(ttft_s=0.0), "ttft_s"),
    (lambda: sv.SLO(tpot_s=-1.0), "tpot_s"),
    (lambda: sv.SLO(percentile=100.0), "percentile"),
    (lambda: sv.Policy("lifo"), "kind"),
    (lambda: sv.Policy(max_slots=0), "max_slots"),
    (lambda: sv.Policy("chunked", max_slots=64, token_budget=32), "token_budget"),
    (lambda: sv.Policy(preempt="swap"), "preempt"),
])
def test_bad_input_is_named(make, field):
    with pytest.raises(cd.ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        make()


def test_benchmark_check_can_fail():
    import importlib.util  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_serving.py"
    spec = importlib.util.spec_from_file_location("bench_serving", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    fig = lambda v: {"median": v, "min": v, "max": v}
    slow = {"requests_per_s": fig(1e4), "big_scenario_s": fig(0.5), "speedup_over_reference": 150.0}
    slow["meets_targets"] = bench.judge(slow)
    assert bench.missed_targets(slow) == ["requests_per_s", "big_scenario_s"]
    fast = {"requests_per_s": fig(2e6), "big_scenario_s": fig(0.05), "speedup_over_reference": 1e4}
    fast["meets_targets"] = bench.judge(fast)
    assert bench.missed_targets(fast) == []
