"""The public library API behind the CLI (``codesign.workflows``), in process: the same results
as the command, resumable sweeps, one progress type, errors that name arguments."""
import ast
import json
import math
import pathlib

import numpy as np
import pytest

import codesign as cd
from codesign.cli.main import main
from codesign.errors import ConfigError
from codesign.progress import Progress
from codesign.workflows import (check_shard, configure_jax, evaluate_request, objective_value, parse_experiment_problem,
                                run_optimize, run_pareto, run_sweep, search_settings, sweep_report)
from test_optimize_cli import TINY  # the small LPU problem the CLI tests use

ROOT = pathlib.Path(__file__).resolve().parents[1]
GRID_POINTS = 4 * 2 * 11 * 4


def cli_json(capsys, *argv):
    capsys.readouterr()
    assert main([*map(str, argv)]) == 0
    return json.loads(capsys.readouterr().out)


def without_timing(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in ("wall_s", "total_wall_s")}


def test_run_optimize_equals_the_cli_json(tmp_path, capsys):
    path = tmp_path / "tiny.json"  # JSON is YAML: the CLI reads the same mapping
    path.write_text(json.dumps(TINY))
    lib = run_optimize(str(path), method="grid")
    assert without_timing(lib) == without_timing(cli_json(capsys, "optimize", path, "--method", "grid", "--json",
                                                          "--quiet"))
    assert lib["config"] == str(path) and lib["evaluations"] == GRID_POINTS
    # the grid is exhaustive: its best is the least $/Mtok among the feasible designs it reports
    best = lib["designs"][0]
    assert best["objective_value"] == pytest.approx(best["metrics"]["usd_per_million_tokens"], rel=1e-6)
    assert [d["objective_value"] for d in lib["designs"]] == sorted(d["objective_value"] for d in lib["designs"])
    assert all(d["metrics"]["decode_tokens_per_s_per_user"] >= 200 for d in lib["designs"])


def test_progress_is_one_type_with_monotone_fractions_ending_at_one():
    seen = []
    out = run_optimize(TINY, method="random", budget=600, seed=3, progress=seen.append)
    assert seen and all(isinstance(p, Progress) for p in seen)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions.count(1.0) == 1
    assert {p.task for p in seen} == {"random"} and {p.unit for p in seen} == {"evaluations"}
    assert [p.done for p in seen] == sorted(p.done for p in seen) and seen[-1].done == out["evaluations"] <= 600
    # best is reported in the metric's own unit: the last one is the result's optimum
    assert seen[-1].best == pytest.approx(out["designs"][0]["objective_value"], rel=1e-6)


def test_library_errors_name_arguments_not_flags(tmp_path):
    cases = [
        (lambda: run_optimize(TINY, budget=0), "budget = 0; allowed: an integer >= 1"),
        (lambda: search_settings(TINY, {"method": "annealing"}), "method = 'annealing'; allowed: gradient"),
        (lambda: search_settings(TINY, {"budgets": 3}), "unknown key 'budgets'"),
        (lambda: run_sweep(TINY, tmp_path / "s", chunk=0), "chunk = 0; allowed: a positive integer"),
        (lambda: run_sweep(None, tmp_path / "s"), "cfg = None"),
        (lambda: check_shard((3, 2)), "shard = (3, 2): shard 3 is out of range"),
        (lambda: configure_jax(cpu_devices=0), "cpu_devices = 0"),
        (lambda: run_pareto(TINY), "pareto: needs 2 or 3 metrics"),
        (lambda: run_optimize(str(tmp_path / "missing.yaml")), "missing.yaml' not found"),
    ]
    for call, needle in cases:
        with pytest.raises(ConfigError) as e:
            call()
        assert needle in str(e.value) and "--" not in str(e.value), str(e.value)


def test_objective_value_inverts_the_log_transform():
    problem = parse_experiment_problem(TINY)
    assert objective_value(problem, math.log(2.5)) == pytest.approx(2.5)  # minimised: J = ln(m)


def test_evaluate_request_equals_the_cli_json(capsys):
    req = {"hardware": "groq-lpu-v1", "model": "llama-2-70b", "weight_dtype": "int8", "chips": 576}
    lib = evaluate_request(req)
    assert lib == cli_json(capsys, "evaluate", "--hardware", "groq-lpu-v1", "--model", "llama-2-70b",
                           "--weight-dtype", "int8", "--chips", "576", "--json")
    assert lib["chips"] == 576 and lib["tp"] * lib["pp"] * lib["dp"] == 576 and lib["fits"] is True


SWEEP = TINY | {"space": TINY["space"] | {"mapping.batch": [64, 128]}, "sweep": {"chunk": 64}}
SWEEP_POINTS = 4 * 2 * 11 * 2


def _arrays(d):
    with np.load(d / "reductions.npz") as z:
        return {k: z[k] for k in z.files}


def test_run_sweep_interrupted_then_resumed_equals_one_run(tmp_path):
    whole = run_sweep(SWEEP, tmp_path / "whole")
    assert whole["run_points"] == whole["summary"]["points"] == SWEEP_POINTS and whole["summary"]["complete"]

    class Stop(Exception):
        pass

    def stop_after_two(p):
        assert isinstance(p, Progress) and p.unit == "points" and p.total == SWEEP_POINTS
        if p.done >= 128:
            raise Stop

    with pytest.raises(Stop):
        run_sweep(SWEEP, tmp_path / "split", progress=stop_after_two)
    partial = sweep_report(tmp_path / "split", plot=False).summary
    assert 0 < partial["points"] < SWEEP_POINTS and not partial["complete"]
    seen = []
    rest = run_sweep(None, tmp_path / "split", resume=True, progress=seen.append)  # config from the manifest
    assert rest["run_points"] == SWEEP_POINTS - partial["points"]
    assert [p.fraction for p in seen] == sorted(p.fraction for p in seen) and seen[-1].fraction == 1.0
    a, b = _arrays(tmp_path / "whole"), _arrays(tmp_path / "split")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert rest["summary"]["top_k"] == whole["summary"]["top_k"]
    again = run_sweep(SWEEP, tmp_path / "whole")  # the same call again: nothing left to do
    assert again["run_points"] == 0 and again["summary"] == whole["summary"]


def test_run_pareto_writes_files_only_when_asked(tmp_path, monkeypatch):
    import pyarrow.csv as pcsv
    cfg = TINY | {"pareto": ["usd_per_million_tokens", "decode_tokens_per_s_per_user"],
                  "search": {"budget": 1500, "points": 4}}
    monkeypatch.chdir(tmp_path)
    res = run_pareto(cfg, tmp_path / "front")
    assert sorted(p.name for p in (tmp_path / "front").iterdir()) == [
        "front.csv", "front.parquet", "front.png", "summary.json"]
    assert pcsv.read_csv(tmp_path / "front" / "front.csv").num_rows == res.summary["points"] == len(res.rows) > 0
    # no row dominates another in (min $/Mtok, max tokens/s/user)
    pts = np.array([(r["metric.usd_per_million_tokens"], -r["metric.decode_tokens_per_s_per_user"])
                    for r in res.rows if r["on_joint_front"]])
    for p in pts:
        assert not np.any(np.all(pts <= p, 1) & np.any(pts < p, 1))
    bare = run_pareto(cfg)
    assert bare.summary["files"] == {} and sorted(p.name for p in tmp_path.iterdir()) == ["front"]
    assert bare.summary["hypervolume"] == pytest.approx(res.summary["hypervolume"], rel=1e-6)  # same seed


def _modules(*dirs):
    for d in dirs:
        yield from (ROOT / d).rglob("*.py")


def test_no_backend_is_chosen_at_import():
    """``matplotlib.use`` at module level changes the caller's backend on import."""
    bad = []
    for path in _modules("codesign", "experiments"):
        for stmt in ast.parse(path.read_text()).body:
            if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
                continue  # choosing a backend inside the function that writes a PNG is allowed
            for node in ast.walk(stmt):
                if isinstance(node, ast.Attribute) and node.attr == "use" and getattr(node.value, "id", "") == "matplotlib":
                    bad.append(str(path.relative_to(ROOT)))
            if isinstance(stmt, (ast.Import, ast.ImportFrom)) and "pyplot" in ast.dump(stmt):
                bad.append(f"{path.relative_to(ROOT)} imports pyplot")
    assert not bad


def test_package_exports_the_workflows():
    assert cd.workflows.run_optimize is run_optimize
