"""Sweep throughput, end to end, on this machine's CPU: prints one JSON object.

    python benchmarks/bench_sweep.py            # ~3 minutes on 2 cores
    python benchmarks/bench_sweep.py --quick    # ~1 minute: smaller sweeps, no 1e8 run

Every number comes from the real command (`codesign sweep ... --json` in a subprocess) on the
shipped Llama-2-70B LPU config, reductions on (counts, histograms of 38 metrics, top-k of 3
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


def sweep(out, *args):
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "codesign", "sweep", str(CONFIG), "--out", str(out), "--quiet",
                        "--json", *map(str, args)], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode:
        raise SystemExit(f"codesign sweep failed ({p.returncode}):\n{p.stderr}")
    r = json.loads(p.stdout)
    return {"points": r["run_points"], "devices": r["devices"], "points_per_s": round(r["points_per_s"]),
            "recent_points_per_s": round(r["recent_points_per_s"] or 0), "loop_s": round(r["elapsed_s"], 2),
            "wall_s": round(wall, 2), "wall_points_per_s": round(r["run_points"] / wall),
            "feasible": r["summary"]["feasible"], "front": len(r["summary"]["pareto"]["points"])}


def main():
    quick = "--quick" in sys.argv
    out = {"machine": {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg()}, "config": str(CONFIG.relative_to(ROOT))}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in (1, 2, 4):  # warm the compile cache for every device count
            sweep(tmp / f"warm{n}", "--samples", 300_000, "--cpu-devices", n)
        for shard in ("0/64", "63/64"):  # and for the grid (both variants)
            sweep(tmp / f"warm-grid{shard[:2]}", "--shard", shard, "--cpu-devices", 1)
        per_variant = 2_500_000 if quick else 10_000_000
        out["end_to_end_1_device"] = sweep(tmp / "e2e", "--samples", per_variant, "--cpu-devices", 1)
        out["grid_default_1_device"] = sweep(tmp / "grid", "--cpu-devices", 1)
        out["scaling_fake_cpu_devices"] = [sweep(tmp / f"scale{n}", "--samples", per_variant // 2, "--cpu-devices", n)
                                           for n in (1, 2, 4)]
        out["rows_parquet_1_device"] = sweep(tmp / "rows", "--samples", 500_000, "--cpu-devices", 1, "--rows")
        if not quick:
            out["points_1e8_1_device"] = sweep(tmp / "big", "--samples", 50_000_000, "--cpu-devices", 1)
    out["machine"]["loadavg_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
