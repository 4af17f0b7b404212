"""Speed of the cost model: full-metric design evaluations per second, gradient evaluations
per second, and compile time of a fresh evaluation, for Llama-2-70B (int8 weights) on
groq-lpu-v1 designs that vary SRAM per chip, tp, pp and batch. Prints one JSON object.

    python benchmarks/bench_evaluate.py [--batch N] [--runs R] [--seed S]

* evals: ``jit(vmap(evaluate))`` over N designs, exact fidelity, float32, returning the whole
  ``Metrics`` pytree (so XLA cannot drop any metric).
* grads: ``jit(vmap(grad(usd_per_million_tokens)))`` w.r.t. the whole ``Chip`` and ``System``
  pytrees, smooth fidelity (``codesign.SMOOTH``).
* compile: wall time of the first call of a new ``jit`` of ``evaluate`` on one design (trace,
  lower, XLA compile and run); each run wraps ``evaluate`` in a new function so no cache hits.

Throughput runs are timed after a warm-up (compilation) call, with ``block_until_ready``;
each figure is the median (and min, max) of ``--runs`` runs.
"""
import argparse
import json
import os
import statistics
import sys
import time

import jax
import numpy as np

import codesign as cd
from codesign.specs import replace

TARGETS = {"evals_per_s": 1e6, "grads_per_s": 2e5, "compile_s": 5.0}
HARDWARE, MODEL = "groq-lpu-v1", "llama-2-70b"


def designs(n: int, seed: int) -> dict[str, np.ndarray]:
    """n random designs (float32): SRAM 50 MB..1 GB per chip, tp in {1,2,4,8}, pp in 1..80,
    batch in 1..256."""
    rng = np.random.default_rng(seed)
    return {"sram_bytes": rng.uniform(50e6, 1e9, n), "tp": 2.0 ** rng.integers(0, 4, n),
            "pp": rng.integers(1, 81, n).astype(float), "batch": rng.integers(1, 257, n).astype(float)}


def make_fns(hw, w, sc):
    def specs(sram_bytes, tp, pp, batch):
        chip = replace(hw.chip, sram_bytes=sram_bytes)
        return chip, cd.Mapping(tp=tp, pp=pp, ep=1.0, dp=1.0, batch=batch)

    def metrics(sram_bytes, tp, pp, batch):
        chip, m = specs(sram_bytes, tp, pp, batch)
        return cd.evaluate(chip, hw.system, w, m, sc)

    def grads(sram_bytes, tp, pp, batch):
        chip, m = specs(sram_bytes, tp, pp, batch)
        usd = lambda c, s: cd.evaluate(c, s, w, m, sc, cd.SMOOTH).usd_per_million_tokens
        return jax.grad(usd, argnums=(0, 1))(chip, hw.system)

    return jax.jit(jax.vmap(metrics)), jax.jit(jax.vmap(grads))


def timed(fn, *args) -> float:
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - t


def summary(values) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def compile_times(hw, w, sc, runs: int) -> list[float]:
    one = tuple(np.float32(x) for x in (hw.chip.sram_bytes, 8.0, 72.0, 1.0))
    out = []
    for _ in range(runs):
        fresh = jax.jit(lambda s, t, p, b: cd.evaluate(replace(hw.chip, sram_bytes=s), hw.system, w,
                                                       cd.Mapping(t, p, 1.0, 1.0, b), sc))
        out.append(timed(fresh, *one))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=2**20, help="designs per call (default 2^20)")
    p.add_argument("--runs", type=int, default=7, help="timed runs per figure, >= 1 (default 7)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.batch < 1 or args.runs < 1:
        p.error("--batch and --runs must be >= 1")
    hw, md = cd.load_hardware(HARDWARE), cd.load_model(MODEL)
    w, sc = md.workload("int8", "fp16", "fp16"), cd.Scenario(2048.0, 256.0)
    compiles = compile_times(hw, w, sc, args.runs)  # first: a cold process, as a user sees it
    x = jax.device_put({k: v.astype(np.float32) for k, v in designs(args.batch, args.seed).items()})
    evals, grads = make_fns(hw, w, sc)
    first = {"evals": timed(evals, *x.values()), "grads": timed(grads, *x.values())}
    out = jax.block_until_ready(evals(*x.values()))
    assert all(np.shape(leaf) == (args.batch,) for leaf in jax.tree.leaves(out))
    eval_s = [timed(evals, *x.values()) for _ in range(args.runs)]
    grad_s = [timed(grads, *x.values()) for _ in range(args.runs)]
    result = {
        "benchmark": "evaluate", "hardware": HARDWARE, "model": MODEL, "batch": args.batch,
        "runs": args.runs, "dtype": "float32", "metrics_per_design": len(cd.METRIC_NAMES),
        "grad_leaves_per_design": len(jax.tree.leaves((hw.chip, hw.system))),
        "jax_version": jax.__version__, "device": str(jax.devices()[0].device_kind),
        "platform": jax.devices()[0].platform, "cpu_count": os.cpu_count(),
        "evals_per_s": summary([args.batch / t for t in eval_s]),
        "grads_per_s": summary([args.batch / t for t in grad_s]),
        "compile_s": summary(compiles),
        "first_call_s": first,  # batched: compile + one run
        "targets": TARGETS,
    }
    result["meets_targets"] = {
        "evals_per_s": result["evals_per_s"]["median"] >= TARGETS["evals_per_s"],
        "grads_per_s": result["grads_per_s"]["median"] >= TARGETS["grads_per_s"],
        "compile_s": result["compile_s"]["median"] <= TARGETS["compile_s"],
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
