"""codesign serve configs: parsing goldens and every bad input named (field, value, allowed)."""
import copy

import numpy as np
import pytest

from codesign.config.serving import MLPERF_SLOS, load_serve_config, parse_serve_config, read_trace
from codesign.errors import ConfigError

BASE = {"design": {"hardware": "h100-sxm", "model": "llama-2-70b", "weight_dtype": "fp8", "kv_dtype": "fp8",
                   "tp": [2, "MLPerf v4.0 H100_SXM_80GB_TP2x4"], "dp": 4},
        "arrivals": {"kind": "poisson", "rate_per_s": 60},
        "lengths": {"prompt": {"kind": "fixed", "mean": 512}, "output": {"kind": "lognormal", "mean": 290, "cv": 0.5}},
        "n_requests": 200, "slo": {"mlperf": "llama2-70b-server"}}


def cfg(**changes):
    c = copy.deepcopy(BASE)
    for k, v in changes.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def test_golden_parse():
    c = parse_serve_config(cfg())
    assert (c.replicas, c.chips, c.n_requests, c.seed, c.router) == (4, 8, 200, 0, "round_robin")
    assert (c.arrival, c.rate_per_s, c.cv) == ("poisson", 60.0, 1.0)
    assert (c.slo.ttft_s, c.slo.tpot_s, c.slo.percentile) == (2.0, 0.2, 99.0)
    assert (c.prompt.kind, c.prompt.mean, c.output.kind, c.output.mean, c.output.cv) == ("fixed", 512, "lognormal", 290, 0.5)
    assert c.policy == {"kind": "fcfs", "max_slots": 64, "token_budget": 8192, "page_tokens": 16,
                        "preempt": "recompute", "max_requests": 200}
    c = parse_serve_config(cfg(policy={"preempt": False, "kind": "chunked", "max_slots": 8}))
    assert (c.policy["preempt"], c.policy["kind"], c.policy["max_slots"]) == ("none", "chunked", 8)
    assert float(c.design.mapping.tp) == 2 and not c.disaggregated


def test_mlperf_presets_and_overrides():
    assert MLPERF_SLOS["llama2-70b-interactive"] == (0.45, 0.04, 99.0)
    c = parse_serve_config(cfg(slo={"mlperf": "llama3.1-405b-server"}), overrides={"rate_per_s": "7.5", "seed": 3})
    assert (c.slo.ttft_s, c.slo.tpot_s, c.rate_per_s, c.seed) == (6.0, 0.175, 7.5, 3)
    c = parse_serve_config(cfg(slo={"ttft_s": 1, "tpot_s": 0.05, "percentile": 90}))
    assert (c.slo.ttft_s, c.slo.tpot_s, c.slo.percentile, c.slo.name) == (1.0, 0.05, 90.0, "")


def test_disaggregated_pools():
    pools = {"prefill": {"hardware": "h100-sxm", "model": "llama-2-70b", "tp": 8},
             "decode": {"hardware": "groq-lpu-v1", "model": "llama-2-70b", "weight_dtype": "int8", "kv_dtype": "fp16",
                        "tp": 8, "pp": 72}}
    c = parse_serve_config(cfg(design=None, pools=pools, link={"bw_bytes_per_s": 50e9, "latency_s": 2e-6}))
    assert c.disaggregated and c.chips == 8 + 576 and c.link_bw_bytes_per_s == 50e9


@pytest.mark.parametrize("change, words", [
    ({"arrivals": {"rate_per_s": 0}}, ["rate_per_s = 0", "> 0"]),
    ({"arrivals": {"rate_per_s": -3}}, ["rate_per_s = -3"]),
    ({"arrivals": {"rate_per_s": 1, "kind": "weibull"}}, ["kind = 'weibull'", "poisson, gamma"]),
    ({"arrivals": {"rate_per_s": 1, "cv": 2}}, ["cv is for kind gamma"]),
    ({"slo": {"ttft_s": 2, "tpot_s": 0.2, "percentile": 100}}, ["percentile = 100", "(0, 100)"]),
    ({"slo": {"ttft_s": 2, "tpot_s": 0.2, "percentile": 0}}, ["percentile = 0", "(0, 100)"]),
    ({"slo": {"ttft_s": 2, "tpot_s": 0.2, "percentile": 250}}, ["percentile = 250"]),
    ({"slo": {"ttft_s": 0, "tpot_s": 0.2}}, ["ttft_s = 0", "> 0"]),
    ({"slo": {"ttft_s": 2, "tpot_s": -1}}, ["tpot_s = -1"]),
    ({"slo": {"mlperf": "gpt-5"}}, ["mlperf = 'gpt-5'", "llama2-70b-server"]),
    ({"policy": {"max_requests": 100}}, ["n_requests = 200 exceeds policy.max_requests = 100"]),
    ({"policy": {"kind": "lifo"}}, ["kind = 'lifo'", "fcfs, chunked"]),
    ({"policy": {"max_slots": 0}}, ["max_slots = 0"]),
    ({"policy": {"preempt": "yes"}}, ["preempt = 'yes'", "recompute, none"]),
    ({"lengths": {"prompt": {"kind": "fixed", "mean": 0}, "output": {"mean": 10}}}, ["lengths.prompt: mean = 0"]),
    ({"lengths": {"prompt": {"kind": "uniform", "lo": 10, "hi": 5}, "output": {"mean": 10}}}, ["hi = 5 is below lo"]),
    ({"lengths": {"prompt": {"kind": "lognormal", "mean": 10}, "output": {"mean": 10}}}, ["missing key(s) cv"]),
    ({"replicas": 3}, ["replicas = 3 but design.dp = 4"]),
    ({"router": "random"}, ["router = 'random'", "round_robin, least_outstanding"]),
    ({"n_requests": 1.5}, ["n_requests = 1.5"]),
    ({"bogus": 1}, ["unknown key 'bogus'"]),
    ({"design": {"hardware": "h100-sxm", "model": "llama-2-70b", "tp": 3}}, ["design: tp = 3 does not divide"]),
])
def test_bad_inputs_name_the_field(change, words):
    with pytest.raises(ConfigError) as e:
        parse_serve_config(cfg(**change))
    for w in words:
        assert w in str(e.value), str(e.value)


def _write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_trace_sorted_and_rate(tmp_path):
    p = _write(tmp_path, "arrival_s,prompt_tokens,output_tokens,user\n0.5,10,3,a\n0.0,20,4,b\n\n1.0,30,5,c\n")
    t = read_trace(p)
    np.testing.assert_array_equal(t.arrival_s, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(t.prompt_tokens, [20, 10, 30])
    assert t.rate_per_s == 2.0  # 2 gaps over 1 s
    yaml_path = tmp_path / "serve.yaml"
    yaml_path.write_text("design: {hardware: h100-sxm, model: llama-2-70b, tp: 8}\narrivals: {trace: t.csv}\n"
                         "slo: {mlperf: llama2-70b-interactive}\n")
    c = load_serve_config(yaml_path)  # the trace is read next to the config
    assert (c.arrival, c.n_requests, c.rate_per_s) == ("trace", 3, 2.0)


@pytest.mark.parametrize("body, words", [
    ("0.0,10,3\n0.1,,3\n", ["line 3: prompt_tokens is missing"]),
    ("0.0,10,3\n0.1,10\n", ["line 3: output_tokens is missing"]),
    ("0.0,10,3\n-0.1,10,3\n", ["line 3: arrival_s = '-0.1'", ">= 0"]),
    ("0.0,ten,3\n", ["line 2: prompt_tokens = 'ten' is not a number"]),
    ("0.0,10,-3\n", ["line 2: output_tokens = '-3'", "whole number of tokens >= 1"]),
    ("0.0,10,2.5\n", ["line 2: output_tokens = '2.5'"]),
    ("0.0,10,nan\n", ["line 2: output_tokens = 'nan'"]),
    ("", ["has no requests"]),
])
def test_trace_errors_name_the_line(tmp_path, body, words):
    p = _write(tmp_path, "arrival_s,prompt_tokens,output_tokens\n" + body)
    with pytest.raises(ConfigError) as e:
        read_trace(p)
    for w in words:
        assert w in str(e.value), str(e.value)


def test_trace_header_and_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="line 1: header .* lacks column\\(s\\) output_tokens"):
        read_trace(_write(tmp_path, "arrival_s,prompt_tokens\n0,1\n"))
    with pytest.raises(ConfigError, match="not found"):
        read_trace(tmp_path / "absent.csv")
    with pytest.raises(ConfigError, match="not used with arrivals.trace"):
        parse_serve_config(cfg(arrivals={"trace": str(_write(tmp_path, "arrival_s,prompt_tokens,output_tokens\n0,1,1\n"))}))


# --- serving search (codesign optimize/pareto of a `serve:` config): parsing and plumbing, no simulation
from codesign.workflows.serve_search import apply_point, candidates, pareto_front, parse_serve_search  # noqa: E402

SEARCH = {"serve": copy.deepcopy(BASE), "space": {"design.tp": [1, 2, 4], "design.dp": {"from": "design.tp", "chips": 8},
                                                  "policy.max_slots": [64, 256]},
          "objective": "goodput_per_musd_capex", "search": {"method": "random", "budget": 3, "seed": 1}}


def test_search_candidates_and_points():
    ss = parse_serve_search(copy.deepcopy(SEARCH))
    pts = candidates(ss)
    assert len(pts) == 3 == len(set(pts)) and all(p in [(t, s) for t in (1, 2, 4) for s in (64, 256)] for p in pts)
    assert pts == candidates(ss)  # seeded
    c = apply_point(ss, (4, 256))
    assert (c["design"]["tp"], c["design"]["dp"], c["policy"]["max_slots"]) == (4, 2, 256)
    assert c["design"]["hardware"] == "h100-sxm" and BASE["design"]["dp"] == 4  # base untouched
    grid = parse_serve_search({**copy.deepcopy(SEARCH), "search": {"method": "grid"}})
    assert len(candidates(grid)) == 6
    assert parse_serve_search(copy.deepcopy(SEARCH)).objectives == ("goodput_per_musd_capex",)


@pytest.mark.parametrize("change, words", [
    ({"objective": "speed"}, ["objective: 'speed'", "goodput_per_musd_capex"]),
    ({"search": {"method": "gradient"}}, ["search.method = 'gradient'", "random, grid", "step function"]),
    ({"space": {"model.layers": [1]}}, ["space: 'model.layers'"]),
    ({"space": {"design.tp": []}}, ["space.design.tp = []"]),
    ({"space": {"design.dp": {"from": "design.pp", "chips": 8}}}, ["from = 'design.pp'"]),
])
def test_search_bad_input(change, words):
    with pytest.raises(ConfigError) as e:
        parse_serve_search({**copy.deepcopy(SEARCH), **change})
    for w in words:
        assert w in str(e.value), str(e.value)


def test_pareto_front_maximises_both():
    v = np.array([[1, 5], [2, 4], [2, 3], [3, 1], [0.5, 5]])
    np.testing.assert_array_equal(pareto_front(v), [True, True, False, True, False])
