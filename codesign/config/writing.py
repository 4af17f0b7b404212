"""Writing results (edge I/O): strict JSON and files that are whole or absent.

Strict JSON: ``NaN`` and ``Infinity`` are not JSON (Node's ``JSON.parse`` rejects them, jq
turns NaN into null), so every non-finite float is written as ``null`` and the mapping that
held it gets a ``null_reasons`` entry saying what the value was and why it has none.

Atomic files: a file is written under a temporary name in its directory and renamed over
the target when complete, so an interrupted or failed write never leaves half a file.
"""
import contextlib
import json
import math
import os
import tempfile

from ..errors import ConfigError

REASONS_KEY = "null_reasons"
_WHAT = {"nan": "NaN: undefined (no value, e.g. no data or no feasible design for this entry)",
         "inf": "+Infinity: unbounded (e.g. a cost or time that diverges)",
         "-inf": "-Infinity: unbounded below (e.g. an open lower end of a range)"}


def _kind(x: float) -> str:
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _bad(x) -> bool:
    return isinstance(x, float) and not math.isfinite(x)


def strict(obj, why: dict | None = None):
    """``obj`` with every non-finite float replaced by None; each dict that held one gains
    ``null_reasons: {key: reason}`` (for a list: which positions). ``why`` maps a key to a
    more specific reason than the generic one."""
    why = why or {}
    if isinstance(obj, dict):
        out, reasons = {}, {}
        for k, v in obj.items():
            if _bad(v):
                out[k], reasons[k] = None, why.get(k, _WHAT[_kind(v)])
            elif isinstance(v, (list, tuple)) and any(_bad(x) for x in v):
                bad = [i for i, x in enumerate(v) if _bad(x)]
                kinds = sorted({_kind(v[i]) for i in bad})
                shown = ", ".join(map(str, bad[:8])) + (f", ... ({len(bad)} in all)" if len(bad) > 8 else "")
                reasons[k] = f"entries {shown} were " + "; ".join(why.get(k, _WHAT[c]) for c in kinds)
                out[k] = [None if _bad(x) else strict(x, why) for x in v]
            else:
                out[k] = strict(v, why)
        if reasons:
            out[REASONS_KEY] = {**out.get(REASONS_KEY, {}), **reasons}
        return out
    if isinstance(obj, (list, tuple)):
        return [None if _bad(x) else strict(x, why) for x in obj]
    return obj


def dumps(obj, why: dict | None = None, indent: int | None = 2) -> str:
    """``obj`` as strict JSON text (see :func:`strict`)."""
    return json.dumps(strict(obj, why), indent=indent, allow_nan=False)


@contextlib.contextmanager
def atomic_path(path, argument: str = "output file"):
    """Yield a temporary path next to ``path``; rename it onto ``path`` when the block ends
    without an exception, else remove it. An OSError is a ConfigError naming ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    base, ext = os.path.splitext(os.path.basename(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".partial{ext}", dir=directory)
        os.close(fd)
    except OSError as e:
        raise ConfigError(f"{argument} {path!r}: cannot write: {e.strerror}") from None
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        raise ConfigError(f"{argument} {path!r}: cannot write: {e.strerror or e}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_file(path, data: str | bytes, argument: str = "output file"):
    """Write ``data`` to ``path`` atomically (whole or not at all)."""
    with atomic_path(path, argument) as tmp:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)


def write_json(path, obj, why: dict | None = None, argument: str = "output file"):
    """``obj`` as strict JSON (:func:`dumps`) at ``path``, atomically."""
    write_file(path, dumps(obj, why) + "\n", argument)
