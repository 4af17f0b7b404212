"""Heterogeneous two-pool systems (issue 10 item 4): H100 prefill + LPU decode with a KV link.

Goldens computed by hand from the single-pool model's outputs (TTFT, decode step, prefill
occupancy, dynamic energy) plus the link and pool arithmetic; invariants (identical pools at the
balanced split = the single-pool design; a faster link never slows TTFT); float64 gradients with
respect to both pools' chip fields; bad input named; the CLI on the shipped config.
"""
import json
import math
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml
from jax.flatten_util import ravel_pytree

import codesign as cd
from codesign.config import CATALOG
from codesign.design.disaggregated import build_disaggregated
from codesign.model.cost import SECONDS_PER_YEAR
from codesign.model.disaggregated import Pool, PoolLink, evaluate_disaggregated, evaluate_disaggregated_jit
from codesign.model.energy import dynamic_j
from codesign.model.timing import decode_time, prefill_time
from codesign.specs import numeric_fields

CONFIG = "configs/experiments/h100_prefill_lpu_decode.yaml"
PROMPT, OUTPUT = 2048.0, 256.0
#: Llama-3.1-70B KV per token at int8: 80 layers x 2 (K, V) x 8 KV heads x 128 x 1 byte.
KV_PER_TOKEN = 80 * 2 * 8 * 128 * 1.0


def _m(tp, pp, dp, batch):
    return cd.Mapping(tp=float(tp), pp=float(pp), ep=1.0, dp=float(dp), batch=float(batch))


@pytest.fixture(scope="module")
def parts():
    """The shipped config's design (the in-process CLI test then reuses its compilation)."""
    d = build_disaggregated(yaml.safe_load(open(CONFIG)), CATALOG)
    prefill, decode, link, sc = d.specs
    w = prefill.workload
    m = lambda x: tuple(float(v) for v in (x.tp, x.pp, x.dp, x.batch))  # noqa: E731
    assert (m(prefill.mapping), m(decode.mapping)) == ((8, 1, 1, 2), (8, 49, 1, 8))
    assert (link.bw_bytes_per_s, link.latency_s, link.pj_per_byte) == (50e9, 10e-6, 360.0)
    assert (w.name, w.weight_dtype, w.kv_dtype, float(sc.prompt_tokens), float(sc.output_tokens)) == (
        "llama-3.1-70b", "int8", "int8", PROMPT, OUTPUT)
    assert (w.act_dtype, decode.workload.act_dtype) == ("bf16", "fp16")  # each chip's 16-bit format
    return d.prefill.hardware, d.decode.hardware, sc, prefill, decode, link


def test_golden_h100_prefill_lpu_decode(parts):
    h100, lpu, sc, prefill, decode, link = parts
    w, wd = prefill.workload, decode.workload
    r = evaluate_disaggregated_jit(prefill, decode, link, sc)
    # Single-pool timing the two-pool figures are built from.
    ttft_p, occupancy, _ = prefill_time(cd.EXACT, h100.chip, h100.system, w, prefill.mapping, sc)
    ttft_p, occupancy = float(ttft_p), float(occupancy)
    d = float(decode_time(cd.EXACT, lpu.chip, lpu.system, wd, decode.mapping, sc)[0])
    # Link: 2048 x 163,840 B = 335,544,320 B over min(8, 392) NICs of 50 GB/s, + 10 us.
    kv = 335_544_320.0
    assert PROMPT * KV_PER_TOKEN == kv
    transfer = 10e-6 + kv / (50e9 * 8)
    assert float(r.link.bytes_per_request) == pytest.approx(kv, rel=1e-6)
    assert float(r.transfer_s) == pytest.approx(transfer, rel=1e-5)
    assert float(r.ttft_s) == pytest.approx(ttft_p + transfer, rel=1e-5)
    assert float(r.decode_s_per_token) == pytest.approx(d, rel=1e-6)
    # Rates: prefill 1 replica / occupancy; decode 8 sequences / (256 steps x d); link 8 x 50 GB/s / kv.
    rate_p, rate_d, rate_l = 1.0 / occupancy, 8.0 / (OUTPUT * d), 8 * 50e9 / kv
    rate = min(rate_p, rate_d, rate_l)
    assert float(r.throughput_tokens_per_s) == pytest.approx(rate * OUTPUT, rel=1e-5)
    assert float(r.prefill.busy_fraction) == pytest.approx(rate / rate_p, rel=1e-5)
    assert float(r.decode.busy_fraction) == pytest.approx(rate / rate_d, rel=1e-5)
    assert max(float(r.prefill.busy_fraction), float(r.decode.busy_fraction)) == pytest.approx(1.0, rel=1e-6)
    assert float(r.link.busy_fraction) == pytest.approx(rate / rate_l, rel=1e-5)
    assert float(r.balanced_prefill_replicas) == pytest.approx(rate_d * occupancy, rel=1e-5)
    # Money and idle power from the preset numbers (market prices; hosts per node share):
    # 8 H100 + 1 DGX node; 392 LPUs + 49 GroqNodes.
    hc, hs, lc, ls = h100.chip, h100.system, lpu.chip, lpu.system
    capex_p = 8 * float(hc.market_price_usd) + 1 * float(hs.node_cost_usd)
    capex_d = 392 * float(lc.market_price_usd) + 49 * float(ls.node_cost_usd)
    assert (capex_p, capex_d) == (252_000.0, 8_575_000.0)  # $27,500 x 8 + $32,000; $20,000 x 392 + $15,000 x 49
    assert float(r.prefill.capex_usd) == pytest.approx(capex_p, rel=1e-6)
    assert float(r.decode.capex_usd) == pytest.approx(capex_d, rel=1e-6)
    assert float(r.capex_usd) == pytest.approx(capex_p + capex_d, rel=1e-6)
    idle_p = 8 * float(hc.static_power_w) + float(hs.host_power_w)
    idle_d = 392 * float(lc.static_power_w) + 49 * float(ls.host_power_w)
    assert float(r.idle_power_w) == pytest.approx(idle_p + idle_d, rel=1e-6)
    # Power: idle + dynamic energy of the work done at the system rate, per pool; link pJ/byte.
    e_p = float(dynamic_j(cd.EXACT, h100.chip, w, prefill.mapping, PROMPT, 1.0, 0.5 * PROMPT))
    e_d = 8 * float(dynamic_j(cd.EXACT, lpu.chip, wd, decode.mapping, 1.0, 1.0, PROMPT + 0.5 * OUTPUT))  # 8 micro-batches of 1
    # Busy chips' work-independent power above idle (the energy model's active baseline, if any),
    # drawn the busy fraction of the time.
    base = {c.name: 0.0 for c in (hc, lc)}
    if "active_baseline_w" in numeric_fields(hc):
        base = {c.name: float(c.active_baseline_w) for c in (hc, lc)}
    power_p = idle_p + rate / rate_p * 8 * base[hc.name] + rate * e_p
    power_d = idle_d + rate / rate_d * 392 * base[lc.name] + rate * OUTPUT * e_d / 8
    power_l = rate * kv * 360e-12
    assert float(r.prefill.power_w) == pytest.approx(power_p, rel=1e-5)
    assert float(r.decode.power_w) == pytest.approx(power_d, rel=1e-5)
    assert float(r.link.power_w) == pytest.approx(power_l, rel=1e-5)
    power = power_p + power_d + power_l
    assert float(r.power_w) == pytest.approx(power, rel=1e-5)
    assert float(r.joules_per_token_node) == pytest.approx(power / (rate * OUTPUT), rel=1e-5)
    assert float(r.prefill.power_share) == pytest.approx(power_p / power, rel=1e-5)
    # TCO per pool: capex + 3 years x (idle + 0.5 x (power - idle)) x PUE 1.58 x 8766 h x $0.0806/kWh.
    for s_ in (hs, ls):
        assert tuple(float(x) for x in (s_.lifetime_years, s_.utilization, s_.pue, s_.usd_per_kwh)) == (3.0, 0.5, 1.58, 0.0806)
    tco = {}
    for name, pw, idle, capex in (("prefill", power_p, idle_p, capex_p), ("decode", power_d, idle_d, capex_d)):
        opex = (idle + 0.5 * (pw - idle)) * 1.58 * 8766 * 0.0806 / 1000
        tco[name] = capex + 3 * opex
        assert float(getattr(r, name).tco_usd) == pytest.approx(tco[name], rel=1e-5)
    assert float(r.decode.cost_share) == pytest.approx(tco["decode"] / sum(tco.values()), rel=1e-5)
    usd = sum(tco.values()) / (rate * OUTPUT * 0.5 * 3 * SECONDS_PER_YEAR) * 1e6  # both pools 0.5 x 3 years
    assert float(r.usd_per_million_tokens) == pytest.approx(usd, rel=1e-5)
    # Memory: the prefill replica holds 2 prompts' KV (no output tokens) over its 8 chips.
    assert float(r.prefill.kv_bytes_per_chip) == pytest.approx(2 * kv / 8, rel=1e-6)
    assert float(r.fits) == 1.0
    # Too large a decode batch for the LPU's SRAM: the system does not fit.
    big = Pool(lpu.chip, lpu.system, wd, _m(8, 49, 1, 64))
    assert float(evaluate_disaggregated_jit(prefill, big, link, sc).fits) == 0.0


def test_identical_pools_at_the_balanced_split_equal_the_single_pool_design(parts):
    """4 replicas of H100 TP2 at batch 32, split into prefill and decode replicas in proportion
    to their per-request work, with an unbounded free link: throughput, energy per token at every
    boundary, capex, TCO and $/Mtok equal the single-pool design's; any other split is slower."""
    h100, _, sc, prefill, *_ = parts
    chip, system, w = h100.chip, h100.system, prefill.workload
    if "power_cap_w" in numeric_fields(chip):  # a cap would bind differently on a pool's own work
        chip = cd.specs.replace(chip, power_cap_w=1e9)
    single = cd.evaluate(chip, system, w, _m(2, 1, 4, 32), sc)
    occupancy = float(prefill_time(cd.EXACT, chip, system, w, _m(2, 1, 1, 32), sc)[1])
    d = float(decode_time(cd.EXACT, chip, system, w, _m(2, 1, 1, 32), sc)[0])
    assert float(single.decode_s_per_token) == pytest.approx(d, rel=1e-6)
    dp_p = 4 * occupancy * 32 / (OUTPUT * d + occupancy * 32)  # rate balance: dp_p / o = dp_d B / (n d)
    free = PoolLink(bw_bytes_per_s=jnp.inf, latency_s=0.0, pj_per_byte=0.0)

    def split(p):
        return evaluate_disaggregated_jit(Pool(chip, system, w, _m(2, 1, p, 2)), Pool(chip, system, w, _m(2, 1, 4 - p, 32)),
                                          free, sc)

    r = split(dp_p)
    for k in ("throughput_tokens_per_s", "joules_per_token_chip", "joules_per_token_node", "joules_per_token_facility",
              "capex_usd", "tco_usd", "usd_per_million_tokens", "chips"):
        assert float(getattr(r, k)) == pytest.approx(float(getattr(single, k)), rel=2e-5), k
    assert float(r.balanced_prefill_replicas) == pytest.approx(dp_p, rel=1e-5)
    assert float(r.prefill.busy_fraction) == pytest.approx(1.0, rel=1e-5)
    assert float(r.decode.busy_fraction) == pytest.approx(1.0, rel=1e-5)
    assert float(r.ttft_s) == pytest.approx(float(single.ttft_s), rel=1e-6)  # no transfer time
    for p in (0.5 * dp_p, 1.0, 2.0, 3.0):
        assert float(split(p).throughput_tokens_per_s) < float(single.throughput_tokens_per_s) * (1 - 1e-3)


def test_faster_link_never_slows_ttft_nor_throughput(parts):
    *_, sc, prefill, decode, link = parts
    runs = [evaluate_disaggregated_jit(prefill, decode, cd.specs.replace(link, bw_bytes_per_s=bw), sc)
            for bw in (1e8, 1e9, 1e10, 5e10, 1e12)]
    ttft = [float(r.ttft_s) for r in runs]
    tput = [float(r.throughput_tokens_per_s) for r in runs]
    assert all(a > b for a, b in zip(ttft, ttft[1:]))
    assert all(a <= b * (1 + 1e-6) for a, b in zip(tput, tput[1:]))
    assert float(runs[0].link.busy_fraction) == pytest.approx(1.0, rel=1e-5)  # 0.1 GB/s: the link binds
    assert tput[0] < 0.5 * tput[-1]


_LOG_METRICS = ("ttft_s", "throughput_tokens_per_s", "joules_per_token", "tco_usd", "usd_per_million_tokens",
                "decode_s_per_token")
#: Fields checked against central differences, per pool.
_FD_FIELDS = {"prefill": ("compute_efficiency", "hbm_bw_bytes_per_s", "market_price_usd", "static_power_w"),
              "decode": ("link_bw_bytes_per_s", "clock_hz", "market_price_usd", "static_power_w")}


def test_gradients_wrt_both_pools_chip_fields_float64(parts):
    """Every chip field of both pools (66 leaves) has a finite derivative of the key metrics
    (float64, exact fidelity; one forward-mode Jacobian); for four fields of each pool the
    elasticities d ln(metric) / d ln(field) match central differences (eps 1e-4 in ln(field); the
    design is away from every kink)."""
    *_, sc, prefill, decode, link = parts
    with jax.enable_x64(True):
        f64 = lambda t: jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), t)  # noqa: E731
        prefill, decode, link, sc = f64((prefill, decode, link, sc))
        flat, unravel = ravel_pytree((prefill.chip, decode.chip))

        def log_metrics(v):
            pc, dc = unravel(v)
            r = evaluate_disaggregated(cd.specs.replace(prefill, chip=pc), cd.specs.replace(decode, chip=dc), link, sc)
            out = jnp.stack([jnp.log(getattr(r, k)) for k in _LOG_METRICS])
            return out, out

        run = jax.jit(jax.jacfwd(log_metrics, has_aux=True))  # (Jacobian, value): one compilation
        jac, _ = run(flat)
        assert flat.dtype == jac.dtype == jnp.float64 and jac.shape == (len(_LOG_METRICS), flat.size)
        assert np.all(np.isfinite(np.asarray(jac)))
        names = [f"{pool}.{n}" for pool, c in (("prefill", prefill.chip), ("decode", decode.chip)) for n in numeric_fields(c)]
        assert len(names) == flat.size  # ravel order = field order of each chip
        col = {n: np.asarray(jac[:, i]) for i, n in enumerate(names)}
        ttft, step = _LOG_METRICS.index("ttft_s"), _LOG_METRICS.index("decode_s_per_token")
        assert col["prefill.compute_efficiency"][ttft] < 0  # a faster prefill chip shortens TTFT
        assert col["decode.compute_efficiency"][ttft] == 0  # the decode chip does not prefill
        assert col["decode.clock_hz"][step] < 0  # a faster LPU clock shortens the decode step
        assert col["prefill.clock_hz"][step] == col["prefill.hbm_bw_bytes_per_s"][step] == 0

        eps = 1e-4
        for pool, fields in _FD_FIELDS.items():
            for n in fields:
                i = names.index(f"{pool}.{n}")
                up, down = (run(flat.at[i].multiply(math.exp(s)))[1] for s in (eps, -eps))
                fd = np.asarray(up - down) / (2 * eps)
                elasticity = col[f"{pool}.{n}"] * float(flat[i])
                np.testing.assert_allclose(elasticity, fd, rtol=1e-5, atol=1e-8, err_msg=f"{pool}.{n}")
                assert np.abs(elasticity).max() > 1e-4, f"{pool}.{n} moves no metric"


def _request(**changes):
    req = yaml.safe_load(open(CONFIG))
    for path, value in changes.items():
        *parents, key = path.split(".")
        node = req
        for p in parents:
            node = node[p]
        if value is None:
            del node[key]
        else:
            node[key] = value
    return req


@pytest.mark.parametrize("changes, named", [
    ({"pools.decode": None}, "pools: missing key(s) decode"),
    ({"pools.decode.foo": 1}, "pools.decode: unknown key 'foo'"),
    ({"link.bw_bytes_per_s": -1.0}, "link: bw_bytes_per_s = -1.0; allowed: a finite number > 0"),
    ({"link.latency_s": None}, "link: missing key(s) latency_s"),
    ({"link": None}, "config: missing key(s) link"),
    ({"hardware": "h100-sxm"}, "config: unknown key 'hardware'"),
    ({"weight_dtype": "fp8"}, "pools.decode: weight_dtype = 'fp8' is not supported by groq-lpu-v1"),
    ({"pools.prefill.tp": 3}, "pools.prefill: tp = 3 does not divide the 64 attention heads"),
    ({"pools.decode.hardware": "nope"}, "pools.decode"),
])
def test_bad_input_names_the_field(changes, named):
    with pytest.raises(cd.ConfigError) as e:
        build_disaggregated(_request(**changes), CATALOG)
    assert named in str(e.value)


def test_request_builds_both_pools_with_defaults():
    d = build_disaggregated(_request(**{"pools.decode.pp": None, "pools.prefill.dp": 2}), CATALOG)
    prefill, decode, link, sc = d.specs
    w = decode.workload
    assert (float(prefill.mapping.tp), float(prefill.mapping.dp), float(prefill.mapping.batch)) == (8.0, 2.0, 2.0)
    assert "prompts a replica holds" in d.prefill.chosen["batch"]
    assert float(decode.mapping.pp) > 1 and "pp" in d.decode.chosen  # fewest stages that fit, chosen
    assert (w.weight_dtype, w.kv_dtype, float(sc.output_tokens)) == ("int8", "int8", OUTPUT)
    assert float(sc.prefill_chunk_tokens) == 512.0
    assert (float(link.bw_bytes_per_s), float(link.pj_per_byte)) == (50e9, 360.0)
    assert "[D]" in d.link_sources["bw_bytes_per_s"]


def test_cli_json_reports_both_pools():
    out = subprocess.run([sys.executable, "-m", "codesign", "evaluate", CONFIG, "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["kind"] == "disaggregated" and set(r["pools"]) == {"prefill", "decode"}
    p, d = r["pools"]["prefill"], r["pools"]["decode"]
    assert (p["hardware"], d["hardware"], p["chips"], d["chips"]) == ("h100-sxm", "groq-lpu-v1", 8, 392)
    assert p["power_share"] + d["power_share"] + r["link"]["power_share"] == pytest.approx(1.0, rel=1e-5)
    assert p["cost_share"] + d["cost_share"] == pytest.approx(1.0, rel=1e-5)
    assert max(p["busy_fraction"], d["busy_fraction"]) == pytest.approx(1.0, rel=1e-5)
    assert r["fits"] is True and math.isfinite(r["usd_per_million_tokens"])
    assert r["ttft_s"] == pytest.approx(r["prefill_s"] + r["transfer_s"], rel=1e-6)


def test_cli_table_and_bad_link_exit_2(codesign_cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_request(**{"link.bw_bytes_per_s": -5})))
    r = codesign_cli("evaluate", bad)
    assert r.returncode == 2 and "link: bw_bytes_per_s = -5" in r.stderr and "Traceback" not in r.stderr
    r = codesign_cli("evaluate", CONFIG)
    assert r.returncode == 0
    assert "prefill h100-sxm: chips 8" in r.stdout and "decode  groq-lpu-v1: chips 392" in r.stdout
    assert "bottleneck: " in r.stdout and "TTFT" in r.stdout
