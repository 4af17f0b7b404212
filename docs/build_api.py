"""Build the API reference of the public ``codesign`` namespace from its docstrings (pdoc).

    python docs/build_api.py              # writes docs/api/ (open docs/api/index.html)
    python docs/build_api.py --out DIR    # elsewhere

What is documented is what ``codesign.__all__`` exports, and inside each exported
sub-package what its own ``__all__`` lists (pdoc follows ``__all__``), so the reference is
the curated API a notebook uses, not every private module. Docstrings are Google style with
``.. math::`` formulas (rendered with MathJax). ``--strict`` turns every pdoc warning (a type
annotation it cannot resolve, a broken cross-reference) into an error; the test
``tests/test_api_docs.py`` builds it that way.
"""
import argparse
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "api"


def build(out_dir=DEFAULT_OUT, strict: bool = False, module: str = "codesign") -> Path:
    """Render the reference into ``out_dir`` (created); returns the path of its index.html.

    Args:
        out_dir: output directory (its HTML files are overwritten).
        strict: raise on the first pdoc warning instead of printing it.
        module: the importable module to document.
    """
    import pdoc  # noqa: PLC0415 (a docs dependency: only when building)
    import pdoc.render  # noqa: PLC0415

    out_dir = Path(out_dir)
    pdoc.render.configure(docformat="google", math=True, search=True, show_source=True,
                          footer_text="codesign API reference")
    with warnings.catch_warnings():
        warnings.simplefilter("error" if strict else "default")
        pdoc.pdoc(module, output_directory=out_dir)
    return out_dir / "index.html"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output directory (default: docs/api)")
    parser.add_argument("--strict", action="store_true", help="warnings are errors")
    args = parser.parse_args(argv)
    index = build(args.out, args.strict)
    print(f"API reference: {index} (open it in a browser; codesign.html is the top-level namespace)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
