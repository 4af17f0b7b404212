"""Resumable, SPMD-aware sweeps into a directory: run, resume, shard, merge, report.

    result = run_sweep("configs/experiments/sweep_lpu_llama70b.yaml", "out/sweep")
    result = run_sweep(None, "out/sweep", resume=True)       # continue; config from the manifest

The state (reductions + index ranges done) is committed atomically after every chunk, so a
killed run loses at most the chunks in flight and the same call continues it. Every process
of a ``jax.distributed`` run calls :func:`run_sweep` alike; process 0 owns the directory and
the others receive its starting state.
"""
import contextlib
import datetime
import os
import time
from pathlib import Path
from typing import NamedTuple

from ..config import CATALOG
from ..config.writing import strict
from ..errors import ConfigError
from ..sweep import local_mesh, make_plan, run_chunks, summarize
from ..sweep.enumerate import add_range, overlap
from ..sweep.store import Store, load_state, merge_dirs, read_manifest, rows_table, static_arrays
from . import _spmd
from ._config import resolve
from ._lock import exclusive_dir
from ._relay import Relay, from_sweep


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def check_shard(shard) -> tuple[int, int] | None:
    """``shard`` = (i, n) with 0 <= i < n, or None for the whole sweep."""
    if shard is None:
        return None
    try:
        i, n = (int(v) for v in shard)
    except (TypeError, ValueError):
        raise ConfigError(f"shard = {shard!r}; allowed: (i, n) with 0 <= i < n") from None
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"shard = ({i}, {n}): shard {i} is out of range for n = {n}; allowed: 0 <= i < n (0-based)")
    return i, n


def _positive(name, v):
    if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
        raise ConfigError(f"{name} = {v!r}; allowed: a positive integer")


def run_sweep(cfg, out_dir, *, mode: str | None = None, samples: int | None = None, seed: int | None = None,
              chunk: int | None = None, shard=None, rows: bool = False, resume: bool = False, progress=None,
              info: dict | None = None) -> dict | None:
    """Sweep the config's space into ``out_dir`` (created), or continue the sweep there.

    Args:
        cfg: experiment config (problem keys + optional ``sweep:``), its YAML path, or None
            with ``resume=True`` to take the config, settings, shard and rows of the manifest.
        out_dir: output directory; a rerun with the same arguments continues it.
        mode, samples, seed, chunk: override keys of the ``sweep:`` block (``samples`` alone
            implies ``mode="random"``).
        shard: (i, n): run independent shard i of n; None: all.
        rows: also write every point as Parquet parts under ``out_dir/rows``.
        resume: continue a sweep already in ``out_dir`` (an empty or new one is refused without it
            only if it holds a different sweep).
        progress: called with :class:`codesign.progress.Progress` (task "sweep", unit "points")
            after every chunk, on process 0 only; fraction ends at 1 when the target is done.
        info: extra manifest entries (e.g. ``{"argv": [...]}``).

    Returns:
        On process 0: {dir, summary, run_points, elapsed_s, points_per_s, recent_points_per_s,
        shard, devices, processes}; on the other processes: None.

    Raises:
        ConfigError: bad arguments or config, or ``out_dir`` holding something else.
        codesign.sweep.store.WriteError: a write failed mid-run (what was committed is intact).
    """
    import jax  # noqa: PLC0415 (the caller may configure devices first)

    for name, v in (("samples", samples), ("chunk", chunk)):
        _positive(name, v)
    shard = check_shard(shard)
    if out_dir is None:
        raise ConfigError("out_dir = None; allowed: a directory path")
    overrides = {"mode": mode, "seed": seed, "chunk": chunk, "samples": samples}
    if samples is not None and mode is None:
        overrides["mode"] = "random"
    if cfg is None:
        if not resume:
            raise ConfigError("cfg = None; allowed: a config (or its path), or resume=True to continue out_dir")
        ident = read_manifest(out_dir)["identity"]
        cfg = ident["config"]
        overrides = {**ident["sweep"], **{k: v for k, v in overrides.items() if v is not None}}
        shard = shard or tuple(ident["shard"])
        rows = rows or ident["rows"]
    else:
        cfg, _ = resolve(cfg)
    plan = make_plan(cfg, overrides, CATALOG)
    shard = shard or (0, 1)
    ids = plan.shard(*shard)
    start, stop = plan.index_range(ids)
    lead = jax.process_index() == 0
    identity = {"config": cfg, "sweep": plan.settings.to_dict(), "shard": list(shard), "rows": bool(rows)}
    meta = {"started": _now(), "devices": jax.device_count(), "processes": jax.process_count(),
            "platform": jax.devices()[0].platform, "argv": []} | (info or {})
    lock = exclusive_dir(out_dir) if lead else contextlib.nullcontext()
    with lock:
        return _run(plan, ids, start, stop, lead, identity, meta, out_dir, resume, rows, progress, shard)


def _run(plan, ids, start, stop, lead, identity, meta, out_dir, resume, rows, progress, shard):
    """The body of :func:`run_sweep`, with ``out_dir`` held by this process (process 0)."""
    import jax  # noqa: PLC0415

    store, state, done, error = None, None, [], None
    if lead:
        try:
            store = Store.open(out_dir, identity, meta, resume=resume, arrays=static_arrays(plan.spec))
            state, done = store.load_state(plan.spec)
        except ConfigError as e:
            error = str(e)
            if jax.process_count() == 1:
                raise
    if jax.process_count() > 1:
        state, done = _spmd.unpack(plan.spec, _spmd.share_state(lead, None if error else _spmd.pack(state, done),
                                                                error))
    state = state if state is not None else plan.empty()
    target = stop - start
    t0 = time.perf_counter()

    def commit(c, red, chunk_rows):
        nonlocal done
        if chunk_rows is not None:
            store.write_rows(rows_table(plan.enum, plan.spec, chunk_rows), c.start, c.stop)
        done = add_range(done, c.start, c.stop)
        elapsed = time.perf_counter() - t0
        store.commit(red, done, {"target_points": target, "shard_range": [start, stop],
                                 "last_run": {"elapsed_s": round(elapsed, 3), "updated": _now()}})

    before = overlap(done, start, stop)
    relay = Relay(progress if lead else None, from_sweep)
    state = run_chunks(plan.problem, plan.enum, plan.spec, plan.todo(ids, done), state, mesh=local_mesh(),
                       chunk=plan.chunk, done_points=before, total_points=target, rows=rows,
                       on_chunk=commit if lead else None, progress=relay)
    if not lead:
        return None
    elapsed = time.perf_counter() - t0
    done_points = overlap(done, start, stop)
    summary = summarize(plan.enum, plan.spec, state, target_points=target, done_points=done_points)
    run_points = done_points - before
    if run_points:
        store.manifest["last_run"] = {"elapsed_s": round(elapsed, 3), "points": run_points, "updated": _now(),
                                      "points_per_s": run_points / elapsed if elapsed > 0 else None}
    store.commit(state, done, {"complete": done_points >= target}, final=True)
    if done_points >= target:
        store.write_summary(strict(summary))  # NaN/inf as null + null_reasons
        relay.finish(task="sweep", done=done_points, total=target, unit="points", elapsed_s=elapsed)
    recent = relay.last.rate_per_s if relay.last is not None else None
    return {"dir": os.fspath(out_dir), "summary": summary, "run_points": run_points, "elapsed_s": elapsed,
            "points_per_s": run_points / elapsed if elapsed > 0 else None, "recent_points_per_s": recent,
            "shard": list(shard), "devices": jax.device_count(), "processes": jax.process_count()}


def merge_sweeps(out_dir, dirs, info: dict | None = None) -> dict:
    """Merge independent shard directories ``dirs`` into ``out_dir``.

    Returns:
        {dir, done_points, target_points, summary}.
    """
    if not dirs:
        raise ConfigError("dirs = []; allowed: one or more sweep directories")

    def plan_of(identity):
        return make_plan(identity["config"], identity["sweep"], CATALOG)

    meta = {"started": _now(), "argv": []} | (info or {})
    store, plan, red, done = merge_dirs(out_dir, dirs, plan_of, meta)
    done_points = sum(b - a for a, b in done)
    summary = summarize(plan.enum, plan.spec, red, target_points=plan.enum.total, done_points=done_points)
    if done_points >= plan.enum.total:
        store.write_summary(strict(summary))  # NaN/inf as null + null_reasons
    return {"dir": os.fspath(out_dir), "done_points": done_points, "target_points": plan.enum.total,
            "summary": summary}


class SweepReport(NamedTuple):
    summary: dict  # see codesign.sweep.summarize
    plot: str | None  # path of report.png, if written
    manifest: dict  # the directory's manifest.json


def sweep_report(directory, plot: bool = True) -> SweepReport:
    """A sweep directory's summary (also of a partial or sharded one); with ``plot``, also
    writes ``directory/report.png``."""
    manifest = read_manifest(directory)
    ident = manifest["identity"]
    plan = make_plan(ident["config"], ident["sweep"], CATALOG)
    red, done = load_state(directory, plan.spec)
    red = red if red is not None else plan.empty()
    start, stop = manifest.get("shard_range") or (0, plan.enum.total)
    s = summarize(plan.enum, plan.spec, red, target_points=stop - start, done_points=overlap(done, start, stop))
    png = None
    if plot:
        from ..plots.sweep import report_png  # noqa: PLC0415 (matplotlib only when plotting)
        from ..sweep.store import atomic_write  # noqa: PLC0415
        png = Path(directory) / "report.png"
        atomic_write(png, report_png(plan.spec, red, f"{directory}: {s['points']:,} points, {s['feasible']:,} feasible"))
    return SweepReport(s, None if png is None else str(png), manifest)
