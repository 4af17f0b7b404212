"""The evaluation benchmark: its headline designs vary every numeric field, its check can fail,
and the script runs at a small batch and prints the JSON it promises."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import codesign as cd
from codesign.specs import numeric_fields

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_evaluate.py"
_spec = importlib.util.spec_from_file_location("bench_evaluate", SCRIPT)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)
N_FIELDS = sum(len(numeric_fields(c)) for c in (cd.Chip, cd.System, cd.Workload, cd.Mapping, cd.Scenario))


def test_headline_designs_vary_every_numeric_field():
    hw, md = cd.load_hardware(bench.HARDWARE), cd.load_model(bench.MODEL)
    base = (hw.chip, hw.system, md.workload("int8"), None, cd.Scenario(2048.0, 256.0))
    specs = bench.all_field_designs(base[0], base[1], base[2], base[4], 64, 0)
    count = 0
    for spec, preset, cls in zip(specs, base, (cd.Chip, cd.System, cd.Workload, cd.Mapping, cd.Scenario)):
        for name in numeric_fields(cls):
            x = np.asarray(getattr(spec, name))
            assert x.shape == (64,) and x.dtype == np.float32, name
            count += 1
            if name in bench.FRACTIONS:
                assert x.max() <= 1.0
            # Fields the preset sets to 0 (fp8 on the LPU, HBM, a dense model's expert counts)
            # and ep of a dense model keep their value, but are still inputs XLA cannot fold.
            if name == "ep" or (preset is not None and float(getattr(preset, name)) == 0.0):
                continue
            assert np.ptp(x) > 0, name
    assert count == N_FIELDS


def _result(evals, grads, compile_s):
    return {"evals_per_s": {"median": evals}, "grads_per_s": {"median": grads}, "compile_s": {"median": compile_s}}


def test_check_fails_when_a_headline_target_is_missed(monkeypatch, capsys):
    good = _result(2e6, 3e5, 1.0)
    assert bench.judge(good) == {"evals_per_s": True, "grads_per_s": True, "compile_s": True}
    assert bench.judge(_result(0.9e6, 3e5, 1.0))["evals_per_s"] is False
    assert bench.judge(_result(2e6, 1.9e5, 1.0))["grads_per_s"] is False
    assert bench.judge(_result(2e6, 3e5, 6.0))["compile_s"] is False
    slow = _result(5e5, 3e5, 1.0)
    slow["meets_targets"] = bench.judge(slow)
    monkeypatch.setattr(bench, "run", lambda *a: slow)
    assert bench.main(["--check"]) == 1
    assert "missed targets: evals_per_s" in capsys.readouterr().err
    assert bench.main([]) == 0  # reports without judging
    good["meets_targets"] = bench.judge(good)
    monkeypatch.setattr(bench, "run", lambda *a: good)
    assert bench.main(["--check"]) == 0


def test_benchmark_prints_valid_json_with_the_expected_keys():
    p = subprocess.run([sys.executable, str(SCRIPT), "--batch", "512", "--runs", "1"], capture_output=True,
                       text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["batch"] == 512 and r["runs"] == 1 and r["dtype"] == "float32"
    assert {"jax_version", "device", "first_call_s", "targets", "meets_targets"} <= set(r)
    for key in ("evals_per_s", "grads_per_s", "evals_per_s_4_fields", "grads_per_s_4_fields", "compile_s"):
        s = r[key]
        assert 0 < s["min"] <= s["median"] <= s["max"], key
    assert r["metrics_per_design"] == len(cd.METRIC_NAMES)
    assert r["grad_leaves_per_design"] == len(numeric_fields(cd.Chip)) + len(numeric_fields(cd.System))
    assert r["varied_fields_total"] == N_FIELDS
    assert r["meets_targets"]["evals_per_s"] == (r["evals_per_s"]["median"] >= 1e6)
    assert r["speedup_4_fields_over_all"]["evals_per_s"] == pytest.approx(
        r["evals_per_s_4_fields"]["median"] / r["evals_per_s"]["median"])
