"""The work behind ``codesign sweep``: open the output, share the starting state across
processes, run the chunk loop with progress, write the summary; and ``--merge``."""
import datetime
import io
import sys
import time

import numpy as np

from ..errors import ConfigError
from ._common import fmt


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class ProgressPrinter:
    """One line to stderr at most every ``every`` seconds: done, points/s, ETA."""

    def __init__(self, every=1.0, stream=sys.stderr):
        self.every, self.stream, self.last = every, stream, 0.0
        self.tty = stream.isatty()

    def __call__(self, p):
        now = time.perf_counter()
        final = p.done_points >= p.total_points
        if now - self.last < (self.every if self.tty else 5 * self.every) and not final:
            return
        self.last = now
        eta = "-" if p.eta_s is None else time.strftime("%H:%M:%S", time.gmtime(p.eta_s))
        line = (f"sweep {100 * p.done_points / max(p.total_points, 1):6.2f}%  {fmt(p.done_points)}/"
                f"{fmt(p.total_points)} points  {fmt(p.points_per_s)} points/s  ETA {eta}")
        self.stream.write(("\r" + line + ("\n" if final else "")) if self.tty else line + "\n")
        self.stream.flush()


def _share_state(lead: bool, payload: bytes | None, error: str | None):
    """SPMD: process 0's starting state (or its refusal) to every process."""
    from jax.experimental import multihost_utils
    head = np.array([0 if error else 1, len(payload or b"")], np.int32)
    head = np.asarray(multihost_utils.broadcast_one_to_all(head))
    if head[0] == 0:
        raise ConfigError(error or "process 0 refused to start (see its message)")
    buf = np.frombuffer(payload, np.uint8) if lead else np.zeros(int(head[1]), np.uint8)
    if head[1]:
        buf = np.asarray(multihost_utils.broadcast_one_to_all(buf))
    return buf.tobytes()


def _pack(red, done) -> bytes:
    from ..sweep import reductions as R
    buf = io.BytesIO()
    arrays = R.to_arrays(red) if red is not None else {}
    np.savez(buf, done=np.array(done, np.int64).reshape(-1, 2), **arrays)
    return buf.getvalue()


def _unpack(spec, data: bytes):
    from ..sweep import reductions as R
    with np.load(io.BytesIO(data)) as z:
        arrays = {k: z[k] for k in z.files}
    done = [[int(a), int(b)] for a, b in arrays.pop("done").tolist()]
    return (R.from_arrays(spec, arrays) if arrays else None), done


def execute(args, cfg, overrides, shard):
    import jax

    from ..sweep import local_mesh, make_plan, run_chunks, summarize
    from ..sweep.enumerate import add_range, overlap
    from ..sweep.store import Store, read_manifest, rows_table

    rows = args.rows
    if cfg is None:  # --resume with the manifest's config
        ident = read_manifest(args.out)["identity"]
        cfg = ident["config"]
        overrides = {**ident["sweep"], **{k: v for k, v in overrides.items() if v is not None}}
        shard = shard or tuple(ident["shard"])
        rows = rows or ident["rows"]
    plan = make_plan(cfg, overrides)
    shard = shard or (0, 1)
    ids = plan.shard(*shard)
    start, stop = plan.index_range(ids)
    lead = jax.process_index() == 0
    identity = {"config": cfg, "sweep": plan.settings.to_dict(), "shard": list(shard), "rows": bool(rows)}
    info = {"started": _now(), "devices": jax.device_count(), "processes": jax.process_count(),
            "platform": jax.devices()[0].platform, "argv": sys.argv[1:]}
    store, state, done, error = None, None, [], None
    if lead:
        try:
            store = Store.open(args.out, identity, info, resume=args.resume,
                               arrays={"hist_edges": plan.spec.bins.edges()})
            state, done = store.load_state(plan.spec)
        except ConfigError as e:
            error = str(e)
            if jax.process_count() == 1:
                raise
    if jax.process_count() > 1:
        state, done = _unpack(plan.spec, _share_state(lead, None if error else _pack(state, done), error))
    state = state if state is not None else plan.empty()
    target = stop - start
    t0 = time.perf_counter()

    def commit(chunk, red, chunk_rows):
        nonlocal done
        if chunk_rows is not None:
            store.write_rows(rows_table(plan.enum, plan.spec, chunk_rows), chunk.start, chunk.stop)
        done = add_range(done, chunk.start, chunk.stop)
        elapsed = time.perf_counter() - t0
        store.commit(red, done, {"target_points": target, "shard_range": [start, stop],
                                 "last_run": {"elapsed_s": round(elapsed, 3), "updated": _now()}})

    before = overlap(done, start, stop)
    printer = None if args.quiet or not lead else ProgressPrinter()
    last = {}

    def progress(p):
        last["p"] = p
        if printer is not None:
            printer(p)

    state = run_chunks(plan.problem, plan.enum, plan.spec, plan.todo(ids, done), state, mesh=local_mesh(),
                       chunk=plan.chunk, done_points=before, total_points=target, rows=rows,
                       on_chunk=commit if lead else None, progress=progress)
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
        store.write_summary(summary)
    recent = last["p"].points_per_s if "p" in last else None
    return {"dir": str(args.out), "summary": summary, "run_points": run_points, "elapsed_s": elapsed,
            "points_per_s": run_points / elapsed if elapsed > 0 else None, "recent_points_per_s": recent,
            "shard": list(shard), "devices": jax.device_count(), "processes": jax.process_count()}


def merge(args):
    from ..sweep import make_plan, summarize
    from ..sweep.store import merge_dirs
    from ._common import print_json

    def plan_of(identity):
        return make_plan(identity["config"], identity["sweep"])

    store, plan, red, done = merge_dirs(args.out, args.merge, plan_of, {"started": _now(), "argv": sys.argv[1:]})
    done_points = sum(b - a for a, b in done)
    summary = summarize(plan.enum, plan.spec, red, target_points=plan.enum.total, done_points=done_points)
    if done_points >= plan.enum.total:
        store.write_summary(summary)
    if args.json:
        print_json({"dir": str(args.out), "done_points": done_points, "target_points": plan.enum.total})
    else:
        state = "complete" if done_points >= plan.enum.total else "partial"
        print(f"merged {len(args.merge)} directories into {args.out}: {done_points:,} of {plan.enum.total:,} "
              f"points ({state}); `codesign sweep --report {args.out}` prints and plots it")
    return 0
