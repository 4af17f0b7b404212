"""MLPerf v4.0 check through the CLI: `codesign serve configs/serving/h100x8_llama2_70b_server.yaml
--max-rate --json` (the shipped default serve config, one subprocess).

8x H100-SXM Llama-2-70B Server (row mlperf40_h100x8_srv: 20,556.4 tokens/s at TTFT <= 2 s,
TPOT <= 200 ms at p99), simulated with the submission's mapping (TP2 x 4 engines, fp8, 1,024
slots per engine): the max rate meeting the SLOs is within 25% of the published one,
20,556.4 tokens/s / 290 output tokens per sample (hardware_facts 4.2). The config's first
grid spans 0.75x .. 1.25x that rate: the answer lies inside iff the SLO holds at its bottom
and fails at its top, so the search then needs exactly one refining call. Hardware values
are the fitted nvidia-gpu ones (``calibrated: true`` in the config; that fit saw this row's
closed-form prediction: in sample). Uncalibrated presets (ideal peak efficiencies) give +39%
(the closed-form model: +27%), outside the bound. Calibrated (as tested): 77.5 req/s (bracket to 80.3), 22,481 tokens/s, +9%; see docs/serving_groq_vs_gpu.md.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "configs", "serving", "h100x8_llama2_70b_server.yaml")
PUBLISHED_TOKENS_PER_S = 20556.4  # codesign/data/measurements.csv row mlperf40_h100x8_srv
TOKENS_PER_SAMPLE = 290.0


def test_mlperf_h100_server_max_rate_within_25_percent():
    p = subprocess.run([sys.executable, "-m", "codesign", "serve", CONFIG, "--max-rate", "--json"],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    rate = PUBLISHED_TOKENS_PER_S / TOKENS_PER_SAMPLE
    grid = r["grid"]
    assert grid[0]["slo_met"] and not grid[-1]["slo_met"], grid
    assert r["calls"] == 2  # the first grid bracketed the answer: one refining call
    assert 0.75 * rate <= r["max_rate_per_s"] < 1.25 * rate, (r["max_rate_per_s"], rate)
    assert abs(r["output_tokens_per_s"] / PUBLISHED_TOKENS_PER_S - 1) < 0.25
    assert r["chips"] == 8 and r["replicas"] == 4 and r["slo"]["name"] == "llama2-70b-server"
    at = r["at_max_rate"]  # the scenario at the answer: everything served within the SLO
    assert at["completed"] == at["requests"] > 3000  # ~70/s for 60 s
    assert 0 < at["ttft_p50_s"] <= at["ttft_slo_s"] <= 2.0 and 0 < at["tpot_p50_s"] <= at["tpot_slo_s"] <= 0.2
    assert 0 < at["kv_utilization"] < 1 and at["joules_per_token_chip"] > 0
