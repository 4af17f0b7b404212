"""The API reference (pdoc, ``docs/build_api.py``) builds with warnings as errors and
documents every name ``codesign`` exports."""
import runpy
import time
import types
from pathlib import Path

import pytest

import codesign as cd

ROOT = Path(__file__).resolve().parents[1]


def _build_api():
    """docs/build_api.py (a script, not a package module) as a namespace."""
    return types.SimpleNamespace(**runpy.run_path(str(ROOT / "docs" / "build_api.py")))


def _documented(page: str, name: str) -> bool:
    """A member has an anchor on the page; an exported sub-package links to its own page."""
    return f'id="{name}"' in page or f'href="codesign/{name}.html"' in page


def test_api_reference_builds_without_warnings_and_lists_every_export(tmp_path):
    t0 = time.perf_counter()
    index = _build_api().build(tmp_path / "api", strict=True)
    print(f"pdoc build: {time.perf_counter() - t0:.1f} s")
    assert index.is_file()
    top = (tmp_path / "api" / "codesign.html").read_text()
    missing = [n for n in cd.__all__ if not _documented(top, n)]
    assert not missing, f"exported by codesign but not in the API reference: {missing}"
    for sub in ("workflows", "search", "sweep", "analysis"):  # sub-packages get their own page
        assert (tmp_path / "api" / "codesign" / f"{sub}.html").is_file(), sub
    # Docstrings are rendered as Google style: the Args of run_optimize become a table of parameters.
    wf = (tmp_path / "api" / "codesign" / "workflows.html").read_text()
    assert "run_optimize" in wf and "<strong>sensitivities:</strong>" in wf and 'id="arguments">Arguments:' in wf


def test_strict_build_fails_on_a_pdoc_warning(tmp_path, monkeypatch):
    """The check is real: a module whose annotation pdoc cannot resolve makes the strict build raise."""
    pkg = tmp_path / "src" / "brokendoc"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('def f(x: "NoSuchType") -> int:\n    """Doc."""\n    return 1\n')
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    api = _build_api()
    with pytest.raises(UserWarning, match="NoSuchType"):
        api.build(tmp_path / "api", strict=True, module="brokendoc")
    with pytest.warns(UserWarning, match="NoSuchType"):  # not strict: a warning, and the page is written
        api.build(tmp_path / "api", strict=False, module="brokendoc")
    assert (tmp_path / "api" / "brokendoc.html").is_file()
