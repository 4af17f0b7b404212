"""The output directory of a sweep (edge layer: all of the sweep's file I/O lives here).

Layout::

    DIR/manifest.json      identity (config, sweep settings, shard), versions, git commit,
                           index ranges done, progress; rewritten after every chunk
    DIR/reductions.npz     counts, histograms (+ edges), top-k, Pareto front and the done
                           ranges: the authoritative state, replaced atomically per chunk
    DIR/rows/part-<start>-<stop>.parquet   every point of a chunk (``--rows`` only)
    DIR/summary.json       written when the target range is complete (deterministic)

Every file is written to a temporary name and renamed over the old one, and the reductions
together with the ranges they cover form one file: a process killed at any moment leaves the
last committed state, loses at most its chunks in flight, and never counts a chunk twice.
Rows parts, summaries and the final state are also forced to disk (fsync); the per-chunk
state at most every ``SYNC_S`` seconds, which bounds what a power cut can undo. A rows part is written before its chunk is committed; a part whose chunk is
not in ``done`` is rewritten, identically, when the chunk is run again.
"""
import datetime
import io
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from . import reductions as R
from .enumerate import add_range

FORMAT = "codesign-sweep/1"
MANIFEST, STATE, SUMMARY, ROWS = "manifest.json", "reductions.npz", "summary.json", "rows"
SYNC_S, MANIFEST_S = 2.0, 0.5


class WriteError(RuntimeError):
    """Writing an output failed (disk full, permissions, I/O error); what was committed is intact."""


def _write_file(path: Path, data: bytes, sync: bool):
    with open(path, "wb") as f:
        f.write(data)
        if sync:
            f.flush()
            os.fsync(f.fileno())


def atomic_write(path: Path, data: bytes, sync: bool = True):
    """Write ``data`` to ``path`` via a temporary and a rename: readers (and a later run after a
    kill) see the old or the new content, never a mix. ``sync`` also forces it to the disk."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        _write_file(tmp, data, sync)
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise WriteError(f"cannot write {path}: {e.strerror or e}. Everything committed before this "
                         f"point is intact and readable; fix the problem and run the same command to resume") from None


def versions() -> dict:
    import importlib.metadata as md
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("codesign", "jax", "jaxlib", "numpy", "pyarrow"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if sha.returncode:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def differences(a, b, prefix="") -> list[str]:
    """Dotted paths where two JSON-like values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        common = [k for k in a if k in b]
        out = [] if common == [k for k in b if k in a] else [f"{prefix or '(root)'} (order of keys)"]
        for k in sorted(set(a) | set(b), key=str):
            out += differences(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    return [] if a == b else [prefix or "(root)"]


def _canonical(obj):
    """JSON round trip, key order kept: the order of ``space:`` entries defines the flat index."""
    return json.loads(json.dumps(obj, default=str))


class Store:
    """A sweep's output directory, opened for writing (one writer: process 0)."""

    def __init__(self, path: Path, manifest: dict, arrays: dict | None = None):
        self.path, self.manifest = path, manifest
        self._synced = self._manifest_at = time.monotonic()
        self.arrays = arrays or {}  # constant arrays saved with every state (e.g. histogram edges)

    # Opening and validation.
    @classmethod
    def open(cls, path, identity: dict, info: dict, resume: bool = False, arrays: dict | None = None) -> "Store":
        """Create DIR or reopen the sweep in it; refuses a different sweep with a clear message."""
        path = Path(path)
        identity = _canonical(identity)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"out_dir = {str(path)!r}: exists and is not a directory")
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test.tmp"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as e:
            raise ConfigError(f"out_dir = {str(path)!r}: cannot write to this directory ({e.strerror or e})") from None
        mpath = path / MANIFEST
        if mpath.exists():
            manifest = read_manifest(path)
            diff = differences(manifest.get("identity"), identity)
            if diff:
                raise ConfigError(
                    f"out_dir = {str(path)!r} holds a different sweep (differs in {', '.join(diff[:6])}"
                    f"{', ...' if len(diff) > 6 else ''}); use a new output directory, or remove this one to start over")
            for stale in [*path.glob(".*.tmp"), *(path / ROWS).glob(".*.tmp")]:
                stale.unlink(missing_ok=True)  # a killed run's half-written files
            manifest.setdefault("runs", []).append(info)
            return cls(path, manifest, arrays)
        if resume:
            raise ConfigError(f"resume=True: {str(path)!r} holds no sweep to resume (no {MANIFEST})")
        if any(p.name != ".write-test.tmp" for p in path.iterdir()):
            raise ConfigError(f"out_dir = {str(path)!r} is not empty and holds no sweep ({MANIFEST} missing); "
                              "use an empty or new directory")
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        manifest = {"format": FORMAT, "identity": identity, "created": now, "versions": versions(),
                    "git_commit": git_commit(), "runs": [info], "done": [], "done_points": 0}
        store = cls(path, manifest, arrays)
        store._write_manifest()
        return store

    def load_state(self, spec):
        """(reductions or None, done ranges) as last committed."""
        f = self.path / STATE
        if not f.exists():
            return None, []
        return load_state(self.path, spec)

    # Writing.
    def commit(self, red: R.Reductions, done: list, extra: dict, final: bool = False):
        """Replace the state by ``red`` covering ``done``, atomically.

        A rename after each chunk makes a kill lose nothing committed. Forcing the data to the
        disk (fsync, against power loss) costs milliseconds, so it happens at most every
        ``SYNC_S`` seconds and at the end; the manifest (informational; the state file is
        authoritative) is rewritten at most every ``MANIFEST_S`` seconds and at the end.
        """
        now = time.monotonic()
        sync = final or now - self._synced >= SYNC_S
        buf = io.BytesIO()
        arrays = {**self.arrays, **R.to_arrays(red)}
        arrays["done"] = np.array(done, np.int64).reshape(-1, 2)
        np.savez(buf, **arrays)
        atomic_write(self.path / STATE, buf.getvalue(), sync)
        self._synced = now if sync else self._synced
        self.manifest["done"] = [[int(a), int(b)] for a, b in done]
        self.manifest["done_points"] = int(sum(b - a for a, b in done))
        self.manifest.update(extra)
        if final or now - self._manifest_at >= MANIFEST_S:
            self._write_manifest(sync)
            self._manifest_at = now

    def write_rows(self, table, start: int, stop: int):
        import pyarrow.parquet as pq
        d = self.path / ROWS
        try:
            d.mkdir(exist_ok=True)
        except OSError as e:
            raise WriteError(f"cannot create {d}: {e.strerror or e}") from None
        buf = io.BytesIO()
        labels = [n for n in table.column_names if str(table.schema.field(n).type).startswith("dictionary")]
        pq.write_table(table, buf, use_dictionary=labels)  # floats: dictionaries are slow and larger
        atomic_write(d / f"part-{start:020d}-{stop:020d}.parquet", buf.getvalue())

    def write_summary(self, summary: dict):
        atomic_write(self.path / SUMMARY, (json.dumps(summary, indent=1, sort_keys=False) + "\n").encode())

    def _write_manifest(self, sync=True):
        atomic_write(self.path / MANIFEST, (json.dumps(self.manifest, indent=1) + "\n").encode(), sync)


def read_manifest(path) -> dict:
    mpath = Path(path) / MANIFEST
    try:
        manifest = json.loads(mpath.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: not a sweep directory ({MANIFEST} missing)") from None
    except (OSError, ValueError) as e:
        raise ConfigError(f"{mpath}: unreadable ({e})") from None
    if manifest.get("format") != FORMAT:
        raise ConfigError(f"{mpath}: format {manifest.get('format')!r}; this codesign reads {FORMAT!r}")
    return manifest


def load_state(path, spec):
    """(reductions, done ranges) from DIR/reductions.npz."""
    try:
        with np.load(Path(path) / STATE) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        return None, []
    except (OSError, ValueError) as e:
        raise ConfigError(f"{Path(path) / STATE}: unreadable ({e})") from None
    _check_columns(Path(path) / STATE, spec, arrays)
    done = []
    for a, b in arrays.pop("done").tolist():
        done = add_range(done, int(a), int(b))
    return R.from_arrays(spec, arrays), done


def static_arrays(spec) -> dict:
    """What a state file stores besides the reductions: histogram edges (for readers) and the
    row columns (checked on load)."""
    return {"hist_edges": spec.bins.edges(), "columns": np.array(spec.columns, dtype=str)}


def _check_columns(path: Path, spec, arrays: dict):
    """A state written by a codesign with other metrics (or columns) cannot be continued or
    reported: say so instead of misreading its arrays."""
    stored = tuple(str(c) for c in arrays.pop("columns", np.array([], str)).tolist())
    ncol = arrays["front.rows"].shape[-1] if arrays["front.rows"].ndim == 2 else None
    if stored and stored != spec.columns or not stored and ncol not in (None, len(spec.columns)):
        missing = [c for c in spec.columns if c not in stored] if stored else []
        extra = [c for c in stored if c not in spec.columns]
        what = (f"columns missing: {', '.join(missing) or 'none'}; columns no longer computed: {', '.join(extra) or 'none'}"
                if stored else f"{ncol} row columns, this codesign writes {len(spec.columns)}")
        raise ConfigError(f"{path}: written by a codesign version with other metrics ({what}); "
                          "rerun the sweep into a new directory")


def rows_table(enum, spec, rows):
    """A pyarrow table of a chunk's points (:class:`.runner.ChunkRows`)."""
    import pyarrow as pa
    variant = (rows.index // enum.per_variant).astype(np.int32)
    cols = {"index": pa.array(rows.index, pa.int64()), "variant": pa.array(variant, pa.int32())}
    for path in enum.space.variants[0].label:
        labels = np.array([str(v.label[path]) for v in enum.space.variants])
        cols[path] = pa.DictionaryArray.from_arrays(pa.array(variant), pa.array(labels))
    for i, name in enumerate(spec.columns):
        cols[name] = pa.array(rows.rows[:, i], pa.float32())
    cols["feasible"] = pa.array(rows.feasible, pa.bool_())
    return pa.table(cols)


def merge_dirs(out, dirs, plan_of, info: dict):
    """Merge independent shard directories into ``out`` (exact; refuses overlaps or mixed sweeps).

    ``plan_of(identity)`` builds the sweep plan of a manifest's identity.
    """
    manifests = [read_manifest(d) for d in dirs]
    base = {k: v for k, v in manifests[0]["identity"].items() if k != "shard"}
    for d, m in zip(dirs, manifests):
        diff = differences({k: v for k, v in m["identity"].items() if k != "shard"}, base)
        if diff:
            raise ConfigError(f"dirs: {str(d)!r} is a different sweep from {dirs[0]} (differs in {', '.join(diff[:6])})")
    plan = plan_of(manifests[0]["identity"])
    total, done, sources = None, [], []
    for d, m in zip(dirs, manifests):
        red, ranges = load_state(d, plan.spec)
        if red is None:
            continue
        for a, b in ranges:
            if any(a < hi and lo < b for lo, hi in done):
                raise ConfigError(f"dirs: {str(d)!r} covers indices [{a}, {b}) that another directory already covers")
        for a, b in ranges:
            done = add_range(done, a, b)
        total = red if total is None else R.merge(plan.spec, total, red)
        sources.append({"dir": str(d), "shard": m["identity"].get("shard"), "done_points": m.get("done_points", 0)})
    if total is None:
        total = plan.empty()
    identity = {**base, "shard": [0, 1], "rows": False}
    store = Store.open(out, identity, {**info, "merged_from": sources},
                       arrays=static_arrays(plan.spec))
    store.commit(total, done, {"target_points": plan.enum.total, "sources": sources}, final=True)
    return store, plan, total, done
