"""The evaluation benchmark runs at a small batch and prints the JSON it promises."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_prints_valid_json_with_the_expected_keys():
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_evaluate.py"), "--batch", "512",
                        "--runs", "1"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["batch"] == 512 and r["runs"] == 1 and r["dtype"] == "float32"
    assert {"jax_version", "device", "first_call_s", "targets", "meets_targets"} <= set(r)
    for key in ("evals_per_s", "grads_per_s", "compile_s"):
        s = r[key]
        assert 0 < s["min"] <= s["median"] <= s["max"], key
    assert r["metrics_per_design"] == 38 and r["grad_leaves_per_design"] == 43  # 34 chip + 10 system - 1 name
