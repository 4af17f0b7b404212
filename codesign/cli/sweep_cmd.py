"""``codesign sweep``: sweep a design space at scale — sharded, streamed to disk, resumable.

    codesign sweep CONFIG --out DIR [--chunk N] [--shard i/N|auto] [--resume] [--rows]
    codesign sweep --resume --out DIR           # continue; config from DIR's manifest
    codesign sweep --merge DIR1 DIR2 ... --out MERGED
    codesign sweep --report DIR

Exit codes: 0 done; 1 a write failed mid-run (what was committed is intact); 2 bad input;
130 interrupted (run the same command to continue).
"""
import os
import sys
import time

from ..config import load_experiment
from ..design.fields import SEED, Range, integer
from ..errors import ConfigError
from ..workflows import configure_jax, merge_sweeps, run_sweep, sweep_report
from ._common import print_json
from ._progress import ProgressPrinter
from .sweep_report import print_done, print_summary

#: --samples: 1e8 is fine; past 2^53 a float no longer holds every integer.
SAMPLES = Range(1, 2**53, integer=True)


def add_parser(sub):
    p = sub.add_parser("sweep", help="sweep a design space: millions to billions of designs, sharded, resumable",
                       description="Evaluate every point of a grid (or a seeded random sample) of CONFIG's design "
                                   "space with on-device reductions (counts, histograms, top-k, Pareto front), "
                                   "streamed to --out DIR after every chunk. Kill it at any time; the same command "
                                   "continues. See docs/sweeps.md.")
    p.add_argument("config", nargs="?", help="experiment YAML: problem keys plus an optional `sweep:` block")
    p.add_argument("--out", metavar="DIR", help="output directory (created; a rerun continues the sweep in it)")
    p.add_argument("--chunk", type=int, metavar="N", help="points per compiled step, all devices together")
    p.add_argument("--shard", metavar="i/N", help="run independent shard i of N (0-based), or 'auto': the Slurm "
                                                  "array task (SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT)")
    p.add_argument("--resume", action="store_true", help="continue the sweep in --out (CONFIG optional)")
    p.add_argument("--rows", action="store_true", help="also write every point, as Parquet parts under DIR/rows")
    p.add_argument("--mode", choices=("grid", "random"), help="override sweep.mode")
    p.add_argument("--samples", metavar="N", help="random mode: points per variant (e.g. 1e8); implies --mode random")
    p.add_argument("--seed", type=int, metavar="S", help="override sweep.seed")
    p.add_argument("--cpu-devices", type=int, metavar="N", dest="cpu_devices",
                   help="split the host CPU into N JAX devices (default 1: XLA already uses every core "
                        "inside one device; N > 1 emulates N devices; ignored on accelerators)")
    p.add_argument("--distributed", action="store_true",
                   help="SPMD over processes with jax.distributed (auto-detected on Slurm, TPU pods, Open MPI)")
    p.add_argument("--coordinator", metavar="HOST:PORT", help="jax.distributed coordinator (process 0's address)")
    p.add_argument("--num-processes", type=int, metavar="N", dest="num_processes")
    p.add_argument("--process-id", type=int, metavar="I", dest="process_id")
    p.add_argument("--merge", nargs="+", metavar="DIR", help="merge independent shard directories into --out")
    p.add_argument("--report", metavar="DIR", help="print a sweep's summary and plot DIR/report.png")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--json", action="store_true", help="machine-readable final summary")
    p.set_defaults(func=run)


def parse_shard(text):
    if text is None:
        return None
    if text == "auto":
        tid, count = os.environ.get("SLURM_ARRAY_TASK_ID"), os.environ.get("SLURM_ARRAY_TASK_COUNT")
        if tid is None or count is None:
            raise ConfigError("--shard auto: SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT are not set "
                              "(run inside `sbatch --array`, or give --shard i/N)")
        return int(tid) - int(os.environ.get("SLURM_ARRAY_TASK_MIN", 0)), int(count)
    try:
        i, n = (int(t) for t in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r}; allowed: i/N with 0 <= i < N (e.g. 0/4), or 'auto'") from None
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard {text}: shard {i} is out of range for N = {n}; allowed: 0 <= i < N (0-based)")
    return i, n


def _samples(text):
    if text is None:
        return None
    return integer("--samples", text, SAMPLES)


def run(args):
    from ..sweep.store import WriteError
    try:
        return _run(args)
    except WriteError as e:
        print(f"\ncodesign sweep: error: {e}", file=sys.stderr)
        return 1


def _run(args):
    if args.report:
        rep = sweep_report(args.report)
        if args.json:
            print_json({**rep.summary, "plot": rep.plot})
        else:
            print_summary(rep.summary, args.report, rep.manifest)
            print(f"  plot: {rep.plot}")
        return 0
    if args.cpu_devices is not None and args.cpu_devices < 1:
        raise ConfigError(f"--cpu-devices {args.cpu_devices}; allowed: a positive integer")
    if args.chunk is not None:
        integer("--chunk", args.chunk)
    if args.seed is not None:
        integer("--seed", args.seed, SEED)
    if not args.out:
        raise ConfigError("--out DIR is required")
    shard = parse_shard(args.shard)
    info = {"argv": sys.argv[1:]}
    if args.merge:
        r = merge_sweeps(args.out, args.merge, info)
        if args.json:
            print_json({k: r[k] for k in ("dir", "done_points", "target_points")})
        else:
            state = "complete" if r["done_points"] >= r["target_points"] else "partial"
            print(f"merged {len(args.merge)} directories into {args.out}: {r['done_points']:,} of "
                  f"{r['target_points']:,} points ({state}); `codesign sweep --report {args.out}` prints and plots it")
        return 0
    if not args.distributed and any(v is not None for v in (args.coordinator, args.num_processes, args.process_id)):
        raise ConfigError("--coordinator, --num-processes and --process-id need --distributed")
    if not args.config and not args.resume:
        raise ConfigError("give a CONFIG, or --resume --out DIR to continue a sweep")
    samples = _samples(args.samples)
    cfg = load_experiment(args.config) if args.config else None
    configure_jax(args.cpu_devices, args.distributed, args.coordinator, args.num_processes, args.process_id)
    import jax  # noqa: PLC0415 (after the device set-up)
    printer = None if args.quiet or jax.process_index() != 0 else ProgressPrinter(pipe_every_s=5.0)
    t0 = time.perf_counter()
    try:
        result = run_sweep(cfg, args.out, mode=args.mode, samples=samples, seed=args.seed, chunk=args.chunk,
                           shard=shard, rows=args.rows, resume=args.resume, progress=printer, info=info)
    except KeyboardInterrupt:
        print("\ncodesign sweep: interrupted; run the same command to continue", file=sys.stderr)
        return 130
    if result is not None:
        try:
            print_done(result, time.perf_counter() - t0, args.json)
        except BrokenPipeError:  # `codesign sweep ... | head`: the sweep itself is done and saved
            sys.stdout = open(os.devnull, "w")
    return 0
