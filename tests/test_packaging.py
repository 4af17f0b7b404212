"""A wheel built from the repository, installed non-editable into a fresh venv and run from
another directory, ships its presets, calibration and data (package data, importlib.resources).

The venv sees the system site (jax etc. come from there) and therefore also the editable
install of this checkout; that one is a meta-path finder appended after the normal path
search, so the venv's own site-packages wins. The test checks it: ``codesign.__file__`` of
every run is inside the venv.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import codesign as cd

ROOT = Path(__file__).resolve().parents[1]
MODEL = "llama-2-70b"
#: Flags beyond the defaults: at fp16 Llama-2-70B does not fit in 640 LPUs (8 x 80 stages),
#: so the LPU is evaluated at its published deployment (int8, 576 chips).
EXTRA = {"groq-lpu-v1": {"weight_dtype": "int8", "chips": 576}}

pytestmark = pytest.mark.cli


def _can_build_wheels() -> bool:
    import setuptools  # noqa: PLC0415

    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def _run(cmd, cwd):
    """Start ``cmd`` in ``cwd`` with no PYTHONPATH or preset/data overrides (nothing but the venv)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CODESIGN_PRESETS", "CODESIGN_DATA")}
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(p, timeout=240):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, f"{p.args} failed:\n{err[-3000:]}"
    return out


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """(venv python, repository copy, run directory) with the wheel installed non-editable."""
    if not _can_build_wheels():
        pytest.skip("building a wheel needs setuptools >= 70.1 or the wheel package (pip install wheel)")
    tmp = tmp_path_factory.mktemp("pkg")
    # Build from a copy of the tracked and untracked-but-not-ignored files: the checkout
    # stays clean (no build/), and the experiment below runs from a tree without ignored files.
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout (the file list comes from git): {listed.stderr.strip()}")
    files = listed.stdout.split("\0")
    repo = tmp / "repo"
    for f in filter(None, files):
        if (ROOT / f).is_file():
            (repo / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, repo / f)
    wheels = tmp / "wheels"
    _wait(_run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                str(wheels), str(repo)], tmp))
    (wheel,) = wheels.glob("codesign-*.whl")
    _wait(_run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(tmp / "venv")], tmp))
    python = tmp / "venv" / "bin" / "python"
    _wait(_run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                "-q", str(wheel)], tmp))
    run_dir = tmp / "elsewhere"
    run_dir.mkdir()
    return python, repo, run_dir


def test_installed_package_is_the_venv_copy_with_its_data(venv):
    python, _, run_dir = venv
    code = ("import codesign, codesign.config as c; print(codesign.__file__); "
            "print(c.presets_dir()); print(c.data_dir()); print(c.fitted_path().is_file())")
    lines = _wait(_run([str(python), "-c", code], run_dir)).split()
    prefix = str(python.parent.parent.resolve())
    assert all(line.startswith(prefix) for line in lines[:3]), lines
    assert lines[3] == "True"


#: One installed-package process evaluates every preset through the CLI entry point (one JAX
#: import instead of nine); the console script itself runs for `presets` and one `evaluate`.
_EVALUATE_ALL = """
import contextlib, io, json, sys
from codesign.cli import main
out = {}
for hw, flags in json.loads(sys.argv[1]).items():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["evaluate", "--hardware", hw, "--model", "llama-2-70b", "--json", *flags])
    assert code == 0, (hw, code)
    out[hw] = json.loads(buf.getvalue())
print(json.dumps(out))
"""


def _flags(hw):
    return [f"--{k.replace('_', '-')}={v}" for k, v in EXTRA.get(hw, {}).items()]


#: Presets evaluated through the installed package (one compile each, here and in-process);
#: the 2026 presets are listed by it and evaluated in-process with every model by
#: tests/test_presets_2026.py.
EVALUATED = ("b200", "cerebras-wse3", "groq-lpu-v1", "h100-sxm", "h200-sxm", "mi300x", "tpu-v5e", "tpu-v5p", "tpu-v6e")


def test_presets_and_evaluate_every_hardware_preset(venv):
    python, _, run_dir = venv
    exe = str(python.parent / "codesign")
    presets = _run([exe, "presets", "--json"], run_dir)
    one = _run([exe, "evaluate", "--hardware", "h100-sxm", "--model", MODEL, "--json"], run_dir)
    every = _run([str(python), "-c", _EVALUATE_ALL, json.dumps({hw: _flags(hw) for hw in EVALUATED})], run_dir)
    listed = json.loads(_wait(presets))
    # Listed grouped by vendor and generation (codesign.workflows.hardware_rows), every preset once.
    assert sorted(h["name"] for h in listed["hardware"]) == list(cd.hardware_names())
    assert [m["name"] for m in listed["models"]] == list(cd.model_names())
    assert len(listed["hardware"]) == 16 and set(EVALUATED) < set(cd.hardware_names())
    evals = json.loads(_wait(every))
    assert list(evals) == list(EVALUATED)
    assert json.loads(_wait(one)) == evals["h100-sxm"]  # the console script prints the same
    for hw, out in evals.items():
        design = cd.build_design({"hardware": hw, "model": MODEL, **EXTRA.get(hw, {})})
        metrics = cd.evaluate_jit(*design.specs).to_dict()
        assert out["hardware"] == hw and out["tp"] == int(design.mapping.tp) and out["pp"] == int(design.mapping.pp)
        for key in ("decode_s_per_token", "ttft_s", "throughput_tokens_per_s", "joules_per_token",
                    "usd_per_million_tokens", "memory_per_chip_bytes"):
            np.testing.assert_allclose(out[key], metrics[key], rtol=1e-5, err_msg=f"{hw}: {key}")


def test_main_job_runs_against_the_installed_package(venv, tmp_path):
    python, repo, _ = venv
    # As `python SCRIPT ARGS` (sys.path[0] = the script's folder, not the repository copy),
    # reporting which codesign it imports.
    script = ("import os, runpy, sys; sys.argv = sys.argv[1:]; "
              "sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0])); import codesign; "
              "print('CODESIGN', codesign.__file__, file=sys.stderr); runpy.run_path(sys.argv[0], run_name='__main__')")
    p = _run([str(python), "-c", script, "experiments/jia_groq_vs_h100.py",
              "configs/experiments/jia_groq_vs_h100.yaml", "--json", "--out", str(tmp_path)], repo)
    out, err = p.communicate(timeout=240)
    assert p.returncode == 0, err[-3000:]
    used = next(line.split(" ", 1)[1] for line in err.splitlines() if line.startswith("CODESIGN "))
    assert used.startswith(str(python.parent.parent.resolve())), used
    result = json.loads(out)
    assert result["config"] == "configs/experiments/jia_groq_vs_h100.yaml"
    assert Path(result["plot_png"]).is_file()
