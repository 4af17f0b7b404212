"""Sweep throughput, end to end, on this machine's CPU: prints one JSON object.

    python benchmarks/bench_sweep.py            # ~3 minutes on 2 cores
    python benchmarks/bench_sweep.py --quick    # ~1 minute on 2 idle cores: 1 device only (no
                                                # scaling runs), smaller sweeps, no 1e8 run

Every number comes from :func:`codesign.workflows.run_sweep` (what ``codesign sweep`` runs), one
fresh process per sweep so that each can choose its device count, on the shipped Llama-2-70B
LPU config, reductions on (counts, histograms of 38 metrics, top-k of 3
quantities, Pareto front) and the state committed to disk after every chunk:

* ``points_per_s``: swept points / time inside the sweep loop (compilation included),
* ``recent_points_per_s``: the rate over the last ~10 s (steady state),
* ``wall_s`` / ``wall_points_per_s``: the whole process (Python and JAX start-up included).

The compile cache is warmed first, so compiling does not dominate the shorter runs. Scaling
uses fake CPU devices (``--cpu-devices N``): on a 2-core machine N > 1 splits the same two
cores, so it measures the sharding overhead, not a speed-up.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "experiments" / "sweep_lpu_llama70b.yaml"


def worker(out: str, samples: str, shard: str, cpu_devices: str, rows: str):
    """One sweep in this process (run by :func:`sweep` in a fresh interpreter); JSON on stdout."""
    from codesign.workflows import configure_jax, run_sweep
    configure_jax(int(cpu_devices))
    shard_ = tuple(int(t) for t in shard.split("/")) if shard != "-" else None
    r = run_sweep(str(CONFIG), out, samples=int(samples) if samples != "-" else None, shard=shard_,
                  rows=rows == "1")
    json.dump(r, sys.stdout)


def sweep(out, samples=None, shard=None, cpu_devices=1, rows=False):
    t = time.perf_counter()
    args = [str(out), "-" if samples is None else str(samples), shard or "-", str(cpu_devices), str(int(rows))]
    p = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode:
        raise SystemExit(f"sweep failed ({p.returncode}):\n{p.stderr}")
    r = json.loads(p.stdout)
    return {"points": r["run_points"], "devices": r["devices"], "points_per_s": round(r["points_per_s"]),
            "recent_points_per_s": round(r["recent_points_per_s"] or 0), "loop_s": round(r["elapsed_s"], 2),
            "wall_s": round(wall, 2), "wall_points_per_s": round(r["run_points"] / wall),
            "feasible": r["summary"]["feasible"], "front": len(r["summary"]["pareto"]["points"])}


def main():
    quick = "--quick" in sys.argv
    t0 = time.perf_counter()
    out = {"machine": {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg()}, "config": str(CONFIG.relative_to(ROOT))}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        devices = (1,) if quick else (1, 2, 4)
        for n in devices:  # warm the compile cache for every device count
            sweep(tmp / f"warm{n}", samples=300_000, cpu_devices=n)
        if not quick:
            for shard in ("0/64", "63/64"):  # and for the grid (both variants)
                sweep(tmp / f"warm-grid{shard[:2]}", shard=shard)
        per_variant = 1_000_000 if quick else 10_000_000
        out["end_to_end_1_device"] = sweep(tmp / "e2e", samples=per_variant)
        out["grid_default_1_device"] = sweep(tmp / "grid")
        if not quick:  # fake devices split the same cores: the sharding overhead, not a speed-up
            out["scaling_fake_cpu_devices"] = [sweep(tmp / f"scale{n}", samples=per_variant // 2, cpu_devices=n)
                                               for n in devices]
        out["rows_parquet_1_device"] = sweep(tmp / "rows", samples=500_000, rows=True)
        if not quick:
            out["points_1e8_1_device"] = sweep(tmp / "big", samples=50_000_000)
    out["machine"]["loadavg_after"] = os.getloadavg()
    out["total_wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(*sys.argv[2:])
    else:
        main()
