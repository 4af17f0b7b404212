"""Shared fixtures, the automatic ``cli`` marker, and the test process's XLA options.

XLA compilation dominates the suite's time, and the in-process tests check values, not the
speed of the generated code: unless ``XLA_FLAGS`` is already set, this process compiles with
XLA's cheap CPU backend settings (``--xla_backend_optimization_level=0``, classic emitters;
3x less compile time here). XLA reads the variable once, at the first compilation, which
happens here; the variable is then removed again, so the CLI processes the tests start run
with XLA's defaults, as a user's do (bit-for-bit reproducibility across device counts is
tested there). ``XLA_FLAGS= python -m pytest`` tests everything at XLA's defaults.
"""
import os
import subprocess
import types

import jax
import numpy as np
import pytest
import yaml

import codesign as cd

if "XLA_FLAGS" not in os.environ:
    os.environ["XLA_FLAGS"] = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"
    jax.jit(lambda x: x + 1.0)(1.0).block_until_ready()  # XLA parses XLA_FLAGS now, once
    del os.environ["XLA_FLAGS"]

#: The LPU co-design problem of the search tests (usd per Mtok at >= 300 tokens/s per user).
LPU_PROBLEM = """
hardware: groq-lpu-v1
model: llama-2-70b
weight_dtype: int8
kv_dtype: int8
space:
  chip.sram_bytes: {min: 5.0e+7, max: 2.0e+9, log: true, num: 24}
  mapping.tp: [1, 2, 4, 8]
  mapping.pp: {min: 1, max: 80, integer: true}
  mapping.batch: {min: 1, max: 512, integer: true, log: true, num: 40}
objective: usd_per_million_tokens
constraints:
  decode_tokens_per_s_per_user: {min: 200}
"""


def _runs_subprocess(fn, seen=None) -> bool:
    """True if ``fn`` (or a function of its module it calls, transitively, or a function
    nested in it) references the ``subprocess`` module. Decides the ``cli`` marker, so a new
    subprocess test is marked without a decorator."""
    seen = set() if seen is None else seen
    code = getattr(fn, "__code__", None)
    if code is None or code in seen:
        return False
    seen.add(code)
    scope = getattr(fn, "__globals__", {})
    stack = [code]
    while stack:
        c = stack.pop()
        for name in c.co_names:
            obj = scope.get(name)
            if obj is subprocess:
                return True
            if isinstance(obj, types.FunctionType) and _runs_subprocess(obj, seen):
                return True
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return False


def assert_png(path, min_width=300, min_height=200):
    """``path`` is a real PNG: the signature, a decodable image of at least the given pixel
    size, and not one flat colour (something was drawn). Returns the (h, w, channels) array."""
    from matplotlib import image  # noqa: PLC0415 (only the plot tests pay for it)

    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    img = image.imread(path)
    assert img.ndim == 3 and img.shape[0] >= min_height and img.shape[1] >= min_width, img.shape
    assert float(img[..., :3].std()) > 0.01, f"{path} is blank"
    return img


def pytest_collection_modifyitems(config, items):
    """Mark tests that start a subprocess (directly, through a helper or a fixture, or a
    notebook kernel) ``cli``: ``pytest -m "not cli"`` is the fast in-process part."""
    for item in items:
        if item.get_closest_marker("notebook") is not None:
            item.add_marker(pytest.mark.cli)
            continue
        fns = [getattr(item, "function", None)]
        info = getattr(item, "_fixtureinfo", None)
        if info is not None:
            fns += [d.func for defs in info.name2fixturedefs.values() for d in defs]
        if any(_runs_subprocess(f) for f in fns if f is not None):
            item.add_marker(pytest.mark.cli)


@pytest.fixture
def codesign_cli(capsys):
    """Run ``codesign ARGS...`` in this process (same code as the console script, without
    a process start and JAX import per call): ``(*args) -> result`` with ``returncode``,
    ``stdout`` and ``stderr`` as on a ``subprocess.CompletedProcess``."""
    from codesign.cli import main  # noqa: PLC0415

    def run(*args):
        capsys.readouterr()  # drop anything printed before
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse errors exit 2
            code = e.code
        out = capsys.readouterr()
        return types.SimpleNamespace(args=list(args), returncode=code, stdout=out.out, stderr=out.err)

    return run


@pytest.fixture(scope="session")
def lpu_brute_force() -> dict:
    """Optimum of LPU_PROBLEM by brute force: every integer (tp, pp, batch) in the space
    (4 x 80 x 512 = 163,840 mappings), each with the SRAM per chip its weights, KV cache and
    activations need with 1 GB given,
    judged by the problem's own objective and constraints at exact fidelity."""
    from codesign.config import load_problem  # noqa: PLC0415 (only the tests that ask pay for it)

    problem = load_problem(yaml.safe_load(LPU_PROBLEM))
    paths = [v.path for v in problem.space.variables]
    tp, pp, batch = (a.ravel() for a in np.meshgrid([1.0, 2.0, 4.0, 8.0], np.arange(1.0, 81.0),
                                                    np.arange(1.0, 513.0), indexing="ij"))
    cols = {"chip.sram_bytes": np.full(tp.size, 1e9), "mapping.tp": tp, "mapping.pp": pp, "mapping.batch": batch}
    x = np.stack([cols[p] for p in paths], axis=1).astype(np.float32)
    run = jax.jit(jax.vmap(lambda xi: problem.evaluate(0, xi)))
    # The compiler's prefill chunk grows into SRAM left over (faster prefill, more throughput),
    # so the SRAM is not free of timing: this grid is an upper bound on the optimum (SRAM at the
    # need with 1 GB given), not the optimum itself.
    need = np.asarray(run(x).metrics.memory_per_chip_bytes, np.float64)
    x[:, paths.index("chip.sram_bytes")] = np.maximum(need * (1 + 1e-5), 5e7)
    ev = run(x)
    ok = np.asarray(ev.feasible) & (x[:, paths.index("chip.sram_bytes")] <= 2e9)
    usd = np.where(ok, np.asarray(ev.metrics.usd_per_million_tokens), np.inf)
    i = int(np.argmin(usd))
    return {"usd_per_million_tokens": float(usd[i]), "feasible": int(ok.sum()),
            **{p: float(x[i, k]) for k, p in enumerate(paths)}}


@pytest.fixture(scope="session")
def groq():
    return cd.load_hardware("groq-lpu-v1")


@pytest.fixture(scope="session")
def llama70b():
    return cd.load_model("llama-2-70b")


def groq_design(groq, llama70b, tp=8.0, pp=72.0, batch=1.0, prompt=2048.0, output=256.0, kv="fp16"):
    w = llama70b.workload("int8", kv, "fp16")
    m = cd.Mapping(tp=tp, pp=pp, ep=1.0, dp=1.0, batch=batch)
    return groq.chip, groq.system, w, m, cd.Scenario(prompt, output)
