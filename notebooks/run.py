"""Execute the notebooks (jupytext percent-format ``NN_*.py`` files) into ``.ipynb`` files with
their outputs, each in a fresh kernel started in this folder.

    python notebooks/run.py                    # all, full sizes -> out/notebooks/NN_*.ipynb
    python notebooks/run.py 02 05 --small      # some, at the CI sizes (CODESIGN_NOTEBOOK_SMALL=1)

``tests/test_notebooks.py`` runs them through :func:`execute` too.
"""
import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def notebooks() -> list[Path]:
    """The notebook sources, in order."""
    return sorted(HERE.glob("[0-9][0-9]_*.py"))


def execute(path: Path, timeout_s: float = 600.0):
    """Run the notebook at ``path`` top to bottom in a new kernel whose working directory is
    this folder; returns (the executed nbformat notebook, wall seconds). The kernel inherits
    this process's environment (``CODESIGN_NOTEBOOK_SMALL``, ``CODESIGN_NOTEBOOK_OUT``).

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised (names the cell and the error).
    """
    import jupytext  # noqa: PLC0415 (notebook tools: only when running notebooks)
    from nbclient import NotebookClient  # noqa: PLC0415

    nb = jupytext.read(path)
    client = NotebookClient(nb, timeout=int(timeout_s), kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(HERE)}})
    t0 = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook number prefixes (default: all), e.g. 01 05")
    parser.add_argument("--small", action="store_true", help="the CI sizes each notebook states")
    parser.add_argument("--out", default=str(ROOT / "out" / "notebooks"), help="where the .ipynb files go")
    args = parser.parse_args(argv)
    import nbformat  # noqa: PLC0415

    if args.small:
        os.environ["CODESIGN_NOTEBOOK_SMALL"] = "1"
    out = Path(args.out)
    os.environ.setdefault("CODESIGN_NOTEBOOK_OUT", str(out))
    out.mkdir(parents=True, exist_ok=True)
    chosen = [p for p in notebooks() if not args.names or p.name[:2] in args.names]
    if not chosen:
        print(f"run.py: no notebook matches {args.names}; have: {[p.name[:2] for p in notebooks()]}", file=sys.stderr)
        return 2
    for path in chosen:
        nb, wall_s = execute(path)
        target = out / f"{path.stem}.ipynb"
        nbformat.write(nb, target)
        print(f"{path.name}: {wall_s:.1f} s -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
