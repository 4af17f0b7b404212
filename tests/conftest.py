import subprocess
import types

import pytest

import codesign as cd


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


def pytest_collection_modifyitems(config, items):
    """Mark tests that start a subprocess (directly, through a helper or a fixture) ``cli``:
    ``pytest -m "not cli"`` is the fast in-process part."""
    for item in items:
        fns = [getattr(item, "function", None)]
        info = getattr(item, "_fixtureinfo", None)
        if info is not None:
            fns += [d.func for defs in info.name2fixturedefs.values() for d in defs]
        if any(_runs_subprocess(f) for f in fns if f is not None):
            item.add_marker(pytest.mark.cli)


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
