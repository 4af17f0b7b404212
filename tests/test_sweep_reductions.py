"""Sweep library in-process (one CPU device): decoding, bins, exact merges, brute-force checks."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from codesign.config import CATALOG
from codesign.errors import ConfigError
from codesign.sweep import Bins, make_plan, sweep
from codesign.sweep import kernel as K
from codesign.sweep import reductions as R
from codesign.sweep.enumerate import add_range, covered

BASE = {"hardware": "groq-lpu-v1", "model": "llama-2-70b", "weight_dtype": "int8", "kv_dtype": "int8",
        "objective": "usd_per_million_tokens", "constraints": {"decode_tokens_per_s_per_user": {"min": 100}},
        "pareto": ["usd_per_million_tokens", "decode_tokens_per_s_per_user"]}
SMALL = {"chip.sram_bytes": {"min": 5e7, "max": 2e9, "log": True, "num": 6}, "mapping.tp": [1, 2, 4, 8],
         "mapping.pp": {"min": 1, "max": 80, "integer": True},
         "mapping.batch": {"min": 1, "max": 512, "integer": True, "log": True, "num": 12}}


def plan_of(space=SMALL, **sweep_block):
    return make_plan({**BASE, "space": space, "sweep": {"chunk": 4096, **sweep_block}}, catalog=CATALOG)


def test_grid_decode_beyond_int32_matches_host():
    space = {f"chip.{f}": {"min": 1.0, "max": 2.0, "num": n} for f, n in
             (("sram_bytes", 997), ("clock_hz", 991), ("tdp_w", 983), ("link_bw_bytes_per_s", 977))}
    plan = plan_of(space)
    en = plan.enum
    assert en.per_variant > 2**39
    axes = en.space.grid_axes()
    decode = jax.jit(en.decode)
    for start in (0, 2**31 - 5, 2**33 + 12345, en.per_variant - 3):
        offs = jnp.arange(3, dtype=jnp.int32)
        x = np.asarray(decode(en.start_args(start), offs))
        for j in range(3):
            i = start + j
            if i >= en.per_variant:
                continue
            digits = np.unravel_index(i, en.space.grid_shape)
            want = np.array([a[d] for a, d in zip(axes, digits)], np.float32)
            np.testing.assert_array_equal(x[j], want)


def test_random_points_depend_on_the_index_only():
    en = plan_of(mode="random", samples=2**40).enum
    decode = jax.jit(en.decode)
    start = 2**32 - 2  # the low word carries inside the chunk
    a = np.asarray(decode(en.start_args(start), jnp.arange(4, dtype=jnp.int32)))
    for j in range(4):
        b = np.asarray(decode(en.start_args(start + j), jnp.zeros(1, jnp.int32)))[0]
        np.testing.assert_array_equal(a[j], b)
    assert len({tuple(r) for r in a}) == 4
    tp = a[:, en.space.names.index("mapping.tp")]
    assert set(tp) <= {1.0, 2.0, 4.0, 8.0}


def test_bins_are_exact_at_edges_and_match_searchsorted():
    b = Bins(4, -10, 20)
    edges = b.edges()
    assert edges[0] == 2.0**-10 and edges[-1] == 2.0**20 and len(edges) == b.inner + 1
    rng = np.random.default_rng(0)
    v = np.concatenate([edges.astype(np.float32), np.exp(rng.uniform(-12, 16, 1000)).astype(np.float32),
                        np.float32([0, -1, np.inf, -np.inf, np.nan, 1e-30, 1e30])])
    got = np.asarray(b.index(jnp.asarray(v)))
    want = np.searchsorted(edges, v.astype(np.float64), side="right")  # 0 below, inner+1 above
    want = np.where(np.isnan(v), b.inner + 2, want)
    np.testing.assert_array_equal(got, want)


def _brute_nondominated(g, idx):
    keep = []
    for i in range(len(g)):
        if not np.all(np.isfinite(g[i])):
            continue
        dom = any(np.all(g[j] <= g[i]) and (np.any(g[j] < g[i]) or idx[j] < idx[i])
                  for j in range(len(g)) if j != i and np.all(np.isfinite(g[j])))
        if not dom:
            keep.append(i)
    return sorted(keep)


@pytest.mark.parametrize("m", [2, 3])
def test_nondominated_matches_brute_force_with_ties(m):
    rng = np.random.default_rng(m)
    g = rng.integers(0, 6, (300, m)).astype(float)  # many exact ties and duplicates
    g[::37] = np.inf
    idx = rng.permutation(10_000)[:300]
    assert sorted(R.nondominated(g, idx, block=64)) == _brute_nondominated(g, idx)


def test_merge_is_order_independent():
    plan = plan_of()
    spec = plan.spec
    rng = np.random.default_rng(0)
    parts = []
    for p in range(5):
        n = 50
        rows = rng.integers(1, 5, (n, len(spec.columns))).astype(np.float32)
        rows[rng.random(n) < 0.1, spec.col("objective")] = np.inf
        idx = rng.permutation(10_000)[:n] + 10_000 * p
        rec = R.Records(idx.astype(np.int64), rows)
        red = plan.empty()
        top = {k: R.best_k(spec, k, rec) for k in spec.ranked}
        parts.append(R.Reductions(red.counts + p, red.hist + p, top, R.front_of(spec, rec)))
    results = []
    for order in itertools.islice(itertools.permutations(range(5)), 0, 120, 17):
        acc = plan.empty()
        for i in order:
            acc = R.merge(spec, acc, parts[i])
        results.append(acc)
    tree = R.merge(spec, R.merge(spec, parts[0], parts[1]), R.merge(spec, parts[2], R.merge(spec, parts[3], parts[4])))
    for r in results:
        assert R.equal(r, results[0])
    assert R.equal(tree, results[0])


@pytest.mark.parametrize("pareto", [None, ["usd_per_million_tokens", "decode_tokens_per_s_per_user", "joules_per_token"]])
def test_sweep_matches_brute_force_and_chunks_do_not_retrace(pareto):
    plan = plan_of(**({"pareto": pareto, "pareto_capacity": 16} if pareto else {}))
    red = sweep(plan)
    en, spec = plan.enum, plan.spec
    x = np.asarray(jax.jit(en.decode)(en.start_args(0), jnp.arange(en.total, dtype=jnp.int32)))
    ev = jax.jit(jax.vmap(lambda xi: plan.problem.evaluate(0, xi)))(x)
    feas = np.asarray(ev.feasible)
    # On the LPU the compiler's prefill chunk fills the SRAM left, so many designs sit exactly on
    # the fits boundary, where the sweep's chunks and this one batch may round differently (XLA
    # fuses per batch shape). Such designs may be judged differently; all others must agree.
    edge = np.abs(np.asarray(ev.metrics.memory_overflow_bytes)) <= 1e-5 * np.asarray(ev.metrics.memory_capacity_bytes)
    edge &= np.asarray(ev.metrics.memory_per_chip_bytes) >= (1 - 1e-5) * np.asarray(ev.metrics.memory_capacity_bytes)
    assert red.counts[0] == en.total and abs(int(red.counts[1]) - int(feas.sum())) <= int(edge.sum())
    obj = np.where(feas, np.asarray(ev.objective), np.inf)
    want_top = [i for i in np.lexsort((np.arange(en.total), obj)) if not edge[i]]
    got_top = [i for i in red.top["objective"].index.tolist() if not edge[i]]
    assert len(got_top) >= spec.k - int(edge.sum()) and got_top == want_top[:len(got_top)]
    if not edge.any():
        g = np.stack([spec.sense(m) * np.asarray(getattr(ev.metrics, m), np.float64) for m in spec.pareto], -1)
        g[~feas] = np.inf
        assert sorted(red.front.index.tolist()) == sorted(R.nondominated(g, np.arange(en.total)).tolist())
    usd = np.asarray(ev.metrics.usd_per_million_tokens)
    hist = np.bincount(np.asarray(spec.bins.index(jnp.asarray(usd))), minlength=spec.bins.size)
    np.testing.assert_array_equal(red.hist[list(K.METRIC_NAMES).index("usd_per_million_tokens")].sum(0), hist)
    if pareto:
        return
    # One compile for every chunk, the padded last one included.
    step = K.make_step(plan.problem, en, 0, spec, jax.make_mesh((1,), ("d",)), plan.chunk)
    piv = R.pivots(spec, red.front, 0, plan.chunk)
    for k in range(en.num_chunks(plan.chunk)):
        c = en.chunk(k, plan.chunk)
        step(en.start_args(c.local_start), np.int32(c.size), *piv)
    assert c.size < plan.chunk and step._cache_size() == 1


def test_ranges_and_bad_settings():
    r = add_range(add_range(add_range([], 10, 20), 30, 40), 20, 30)
    assert r == [[10, 40]] and covered(r, 15, 35) and not covered(r, 5, 15)
    with pytest.raises(ConfigError, match="sweep.mode"):
        plan_of(mode="lattice")
    with pytest.raises(ConfigError, match="power of 2"):
        plan_of(histogram={"bins_per_octave": 3})
    with pytest.raises(ConfigError, match="unknown key 'chunks'"):
        make_plan({**BASE, "space": SMALL, "sweep": {"chunks": 4}}, catalog=CATALOG)
