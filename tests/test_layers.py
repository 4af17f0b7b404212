"""Imports only point down the layers, and nothing outside the CLI imports the CLI.

Every ``import`` in the tree is read with :mod:`ast` (those inside functions too: an import
deferred into a function is still a dependency) and resolved to a ``codesign`` module.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "codesign"

#: Sub-packages (and top-level modules) bottom to top; one rank may hold several, which may
#: import each other as long as no cycle forms. ``errors`` and ``progress`` are leaves any
#: layer may use.
LAYERS = (
    ("errors", "progress"),
    ("specs",),
    ("workload",),
    ("model",),
    ("serving",),
    ("design",),
    ("space", "objectives"),
    ("search", "sweep", "validation", "calibration"),
    ("analysis",),
    ("config", "workflows", "plots", "cli", "__main__"),
)
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}
#: The curated ``codesign`` namespace re-exports every layer: it sits above them all.
TOP = "codesign"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _targets(path: Path, tree: ast.AST, modules: set) -> set:
    """The ``codesign`` modules that the file at ``path`` imports, anywhere in it."""
    name = _module_name(path) if path.is_relative_to(ROOT / "codesign") else None
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "codesign"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = name if _is_package(path) else name.rsplit(".", 1)[0]
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base.split(".")[0] != "codesign":
                continue
            # ``from pkg import sub`` imports the sub-module ``pkg.sub`` when there is one.
            subs = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules}
            found |= subs or {base}
            if len(subs) < len(node.names):
                found.add(base)
    return found


def _graph(files):
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    return {str(p.relative_to(ROOT)): _targets(p, ast.parse(p.read_text(), str(p)), modules) for p in files}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else TOP


def _package_files():
    return sorted(PACKAGE.rglob("*.py"))


def _module_edges():
    return {_module_name(ROOT / f): {t for t in ts if t != _module_name(ROOT / f)}
            for f, ts in _graph(_package_files()).items()}


def _cycle(edges: dict):
    """One cycle of the directed graph ``edges`` (node -> successors) as a list, or None."""
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == "open":
                return stack[stack.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        state[n] = "done"
        stack.pop()
        return None

    for n in sorted(edges):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_every_sub_package_has_a_layer():
    layers = {_layer(_module_name(p)) for p in _package_files()} - {TOP}
    assert not layers - set(RANK), f"add to LAYERS in {__file__}: {sorted(layers - set(RANK))}"


def test_no_layer_imports_a_layer_above_it():
    bad = []
    for f, targets in _graph(_package_files()).items():
        src = _layer(_module_name(ROOT / f))
        if src == TOP:
            continue
        for t in sorted(targets):
            dst = _layer(t)
            if dst == src or dst in LAYERS[0]:
                continue
            if dst == TOP or RANK.get(dst, -1) > RANK.get(src, -1):
                bad.append(f"{f} ({src}) imports {t} ({dst})")
    assert not bad, "imports pointing up the layers:\n" + "\n".join(bad)


def test_no_import_cycle_between_sub_packages():
    edges = {}
    for m, targets in _module_edges().items():
        edges.setdefault(_layer(m), set()).update(_layer(t) for t in targets if _layer(t) != _layer(m))
    assert _cycle(edges) is None, f"sub-package import cycle: {' -> '.join(_cycle(edges))}"


def test_no_import_cycle_between_modules():
    cycle = _cycle(_module_edges())
    assert cycle is None, f"module import cycle: {' -> '.join(cycle)}"


#: The command's entry point: a test may run the command in-process through it (as a
#: subprocess would), but only tests of the CLI (``tests/test_cli*.py``) import its internals.
ENTRY_POINTS = ("codesign.cli", "codesign.cli.main")


def _cli_imports(folders):
    files = [p for f in folders for p in sorted((ROOT / f).rglob("*.py"))]
    return [(ROOT / f, t) for f, ts in _graph(files).items() for t in sorted(ts) if t.split(".")[:2] == ["codesign", "cli"]]


def test_nothing_outside_the_cli_imports_it():
    bad = [f"{p.relative_to(ROOT)} imports {t}" for p, t in _cli_imports(("codesign", "experiments", "benchmarks"))
           if not p.is_relative_to(PACKAGE / "cli") and p != PACKAGE / "__main__.py"]
    bad += [f"{p.relative_to(ROOT)} imports {t}" for p, t in _cli_imports(("tests",))
            if t not in ENTRY_POINTS and not p.name.startswith(("test_cli", "test_optimize_cli"))]
    assert not bad, "imports of codesign.cli outside codesign/cli:\n" + "\n".join(bad)


@pytest.mark.parametrize("source, expect", [
    ("from ..config import load_hardware\n", {"codesign.config"}),
    ("from ..calibration import params as P\n", {"codesign.calibration.params"}),
    ("def f():\n    from codesign.cli.main import main\n", {"codesign.cli.main"}),
    ("import codesign.model.cost\n", {"codesign.model.cost"}),
])
def test_imports_are_resolved_inside_functions_and_relative(source, expect):
    path = PACKAGE / "space" / "space.py"
    modules = {_module_name(p) for p in _package_files()}
    assert _targets(path, ast.parse(source), modules) == expect


def test_a_cycle_is_found():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
