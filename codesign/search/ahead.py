"""Compile ahead: start XLA compilations in background threads while the host does other work.

Compilation dominates a search on CPU, and XLA compiles one program on one core. A searcher
that knows its programs' argument shapes up front (the gradient searcher: one descent block
and one exact-evaluation chunk per variant) submits them here at setup; compilations of
different variants then overlap one another and the host's work. :func:`compiled` returns
the ahead-of-time executable once its compilation has finished, else the jitted function
itself (same results: same program, same options).
"""
import collections
import concurrent.futures
import os

_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1),
                                              thread_name_prefix="codesign-compile")
_FUTURES: collections.OrderedDict = collections.OrderedDict()
MAX_PROGRAMS = 64


def compile_ahead(key, fn, *args) -> None:
    """Start compiling jitted ``fn`` for ``args`` (arrays or ``jax.ShapeDtypeStruct``) under ``key``."""
    if key in _FUTURES:
        return
    _FUTURES[key] = _POOL.submit(lambda: fn.lower(*args).compile())
    while len(_FUTURES) > MAX_PROGRAMS:
        _FUTURES.popitem(last=False)


def compiled(key, fn):
    """The executable compiled ahead under ``key`` (waiting for it), or ``fn`` if there is none
    or its compilation failed."""
    fut = _FUTURES.get(key)
    if fut is None:
        return fn
    try:
        exe = fut.result()
    except Exception:  # noqa: BLE001 - fall back to compiling on first call
        _FUTURES.pop(key, None)
        return fn

    def call(*args):
        try:
            return exe(*args)
        except TypeError:  # argument structure differs from the one compiled ahead
            return fn(*args)

    return call
