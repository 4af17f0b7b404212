"""codesign serve: bad input exits 2 with one named message (no traceback), the max-rate search
never lowers the rate for a looser SLO, the round-robin fleet reduction. The shipped default
config runs end to end through the CLI in tests/test_serve_mlperf.py (the MLPerf check)."""
import math

import numpy as np
import pytest

from codesign.cli.main import main
from codesign.workflows.serve import build_setup, meets_slo, requests_at, search_max_rate

GOOD = """design: {hardware: h100-sxm, model: llama-3.1-8b, tp: 1}
arrivals: {rate_per_s: 4}
lengths: {prompt: {mean: 64}, output: {mean: 8}}
n_requests: 16
policy: {max_slots: 4, token_budget: 256, page_tokens: 16}
slo: {ttft_s: 1.0, tpot_s: 0.05}
"""


def _run(tmp_path, capsys, text, *flags, name="serve.yaml"):
    path = tmp_path / name
    path.write_text(text)
    code = main(["serve", str(path), *flags])
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("edit, words", [
    (("rate_per_s: 4", "rate_per_s: 0"), ["rate_per_s = 0", "allowed"]),
    (("rate_per_s: 4", "rate_per_s: -1"), ["rate_per_s = -1"]),
    (("tpot_s: 0.05}", "tpot_s: 0.05, percentile: 100}"), ["percentile = 100", "(0, 100)"]),
    (("tpot_s: 0.05}", "tpot_s: 0.05, percentile: -5}"), ["percentile = -5"]),
    (("ttft_s: 1.0", "ttft_s: 0"), ["ttft_s = 0", "> 0"]),
    (("tpot_s: 0.05", "tpot_s: -0.05"), ["tpot_s = -0.05"]),
    (("page_tokens: 16}", "page_tokens: 16, max_requests: 8}"),
     ["n_requests = 16 exceeds policy.max_requests = 8", "raise policy.max_requests"]),
    (("tp: 1}", "tp: 1, weight_dtype: fp16}\n" + "x: 1"), ["unknown key 'x'"]),
])
def test_bad_input_exits_2_naming_it(tmp_path, capsys, edit, words):
    code, err = _run(tmp_path, capsys, GOOD.replace(*edit))
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    for w in words:
        assert w in err, err


def test_bad_trace_line_exits_2(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("arrival_s,prompt_tokens,output_tokens\n0.0,64,8\n0.5,64,eight\n")
    text = GOOD.replace("arrivals: {rate_per_s: 4}", "arrivals: {trace: t.csv}").replace(
        "lengths: {prompt: {mean: 64}, output: {mean: 8}}\nn_requests: 16\n", "")
    code, err = _run(tmp_path, capsys, text)
    assert code == 2 and "line 3: output_tokens = 'eight' is not a number" in err, err
    (tmp_path / "t.csv").write_text("arrival_s,prompt_tokens,output_tokens\n0.0,64,8\n-0.5,64,8\n")
    code, err = _run(tmp_path, capsys, text)
    assert code == 2 and "line 3: arrival_s = '-0.5'" in err, err


def test_design_without_kv_room_is_reported(tmp_path, capsys):
    # Llama-2-70B in fp16 on one 80 GB H100: 138 GB of weights, no room for any KV cache.
    text = GOOD.replace("model: llama-3.1-8b, tp: 1", "model: llama-2-70b, tp: 1, pp: 1, weight_dtype: fp16")
    code, err = _run(tmp_path, capsys, text)
    assert code == 2, err
    assert "not one request fits in the KV cache" in err and "leaves 0 tokens" in err, err
    assert "Traceback" not in err


def test_max_rate_and_rate_flags_conflict(tmp_path, capsys):
    code, err = _run(tmp_path, capsys, GOOD, "--max-rate", "--rate", "3")
    assert code == 2 and "--rate and --max-rate" in err


class _Fake:
    """A latency curve of a saturating queue with noise that is not monotone in the rate
    (as a finite simulation's percentiles are not): p99 TTFT/TPOT grow like 1/(1 - rate/cap)."""

    def __init__(self, cap=50.0, seed=0):
        self.cap, self.rng = cap, np.random.default_rng(seed)
        self.noise = {}

    def __call__(self, rates):
        rows = []
        for r in rates:
            eps = self.noise.setdefault(round(float(r), 9), self.rng.uniform(0.8, 1.25))
            load = min(r / self.cap, 0.999)
            rows.append({"completed": 10.0, "requests": 10.0, "exhausted": 0.0,
                         "ttft_slo_s": 0.05 * eps / (1 - load), "tpot_slo_s": 0.01 * eps / (1 - load) ** 0.5})
        return rows


def test_looser_slo_never_lowers_the_max_rate():
    fake = _Fake()
    prev = -1.0
    for ttft in (0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0):
        rate, row, (a, b), grid = search_max_rate(fake, lambda m: meets_slo(m, ttft, 1.0), 5.0, 80.0, 8)
        assert rate >= prev
        assert rate == a and (row is None or meets_slo(row, ttft, 1.0))
        # Every rate below the answer on the grid passes; the bracket's top fails.
        assert all(meets_slo(m, ttft, 1.0) for r, m in grid if r <= rate)
        if math.isfinite(b):
            assert not meets_slo(dict(grid)[b], ttft, 1.0)
        prev = rate
    assert 0 < prev < 50.0
    # Nothing passes: rate 0; everything passes: the top of the widened grid, bracket open.
    assert search_max_rate(fake, lambda m: False, 5.0, 80.0, 4)[0] == 0.0
    rate, _, (a, b), _ = search_max_rate(fake, lambda m: True, 5.0, 80.0, 4)
    assert rate == 80.0 * 4**4 and b == math.inf


def test_round_robin_fleet_is_one_replica_of_erlang_arrivals():
    cfg = {"design": {"hardware": "h100-sxm", "model": "llama-3.1-8b", "tp": 1, "dp": 4},
           "arrivals": {"rate_per_s": 40}, "lengths": {"prompt": {"mean": 64}, "output": {"mean": 8}},
           "n_requests": 4000, "policy": {"max_slots": 4}, "slo": {"ttft_s": 1, "tpot_s": 0.1}}
    s = build_setup(cfg)
    assert s.reduced and s.scale == 4 and s.n_sim == 1000
    gaps = np.diff(np.asarray(requests_at(s, 40.0).arrival_s))
    # Every 4th arrival of a 40/s Poisson stream: mean gap 0.1 s, cv 1/2 (Erlang-4).
    assert abs(gaps.mean() - 0.1) < 0.01 and abs(gaps.std() / gaps.mean() - 0.5) < 0.05
