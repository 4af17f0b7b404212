"""Speed of the cost model: full-metric design evaluations per second, gradient evaluations
per second, and compile time of a fresh evaluation, for Llama-2-70B (int8 weights) on
groq-lpu-v1. Prints one JSON object.

    python benchmarks/bench_evaluate.py [--batch N] [--runs R] [--seed S] [--check]

* Headline (``evals_per_s``, ``grads_per_s``): designs in which EVERY numeric field of the
  chip, system, workload, mapping and scenario is an input that varies from design to design
  (each preset value times an independent U(0.9, 1.1) draw, fractions capped at 1; tp in
  {1, 2, 4, 8}, pp in 1..80, batch in 1..256, dp in 1..4), so XLA can constant-fold nothing.
* Secondary (``evals_per_s_4_fields``, ``grads_per_s_4_fields``): only SRAM per chip, tp, pp
  and batch vary; the other fields are compile-time constants that XLA folds.
* evals: ``jit(vmap(evaluate))``, exact fidelity, float32, returning the whole ``Metrics``
  pytree (so XLA cannot drop any metric).
* grads: ``jit(vmap(grad(usd_per_million_tokens)))`` w.r.t. the whole ``Chip`` and ``System``
  pytrees, smooth fidelity (``codesign.SMOOTH``).
* compile: wall time of the first call of a new ``jit`` of ``evaluate`` on one design (trace,
  lower, XLA compile and run); each run wraps ``evaluate`` in a new function so no cache hits.

Throughput runs are timed after a warm-up (compilation) call, with ``block_until_ready``;
each figure is the median (and min, max) of ``--runs`` runs. ``--check`` exits with status 1
when a headline figure misses its target (``meets_targets``).
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
#: Fields that are fractions of a whole: drawn at most 1.
FRACTIONS = ("compute_efficiency", "memory_efficiency", "utilization")


def four_field_designs(n: int, seed: int) -> dict[str, np.ndarray]:
    """n random designs: SRAM 50 MB..1 GB per chip, tp in {1,2,4,8}, pp in 1..80, batch 1..256."""
    rng = np.random.default_rng(seed)
    return {"sram_bytes": rng.uniform(50e6, 1e9, n), "tp": 2.0 ** rng.integers(0, 4, n),
            "pp": rng.integers(1, 81, n).astype(float), "batch": rng.integers(1, 257, n).astype(float)}


def _vary(spec, n: int, rng):
    """``spec`` with every numeric leaf replaced by n draws of value x U(0.9, 1.1)."""
    changes = {}
    for name in cd.specs.numeric_fields(spec):
        x = float(getattr(spec, name)) * rng.uniform(0.9, 1.1, n)
        changes[name] = np.minimum(x, 1.0) if name in FRACTIONS else x
    return replace(spec, **changes)


def all_field_designs(chip, system, w, sc, n: int, seed: int):
    """n designs (chip, system, workload, mapping, scenario) with every numeric field varying."""
    rng = np.random.default_rng(seed)
    four = four_field_designs(n, seed + 1)
    m = cd.Mapping(tp=four["tp"], pp=four["pp"], ep=np.ones(n), dp=rng.integers(1, 5, n).astype(float),
                   batch=four["batch"])
    specs = (_vary(chip, n, rng), _vary(system, n, rng), _vary(w, n, rng), m, _vary(sc, n, rng))
    return jax.tree.map(lambda x: np.asarray(x, np.float32), specs)


def _usd_grad(chip, system, w, m, sc):
    usd = lambda c, s: cd.evaluate(c, s, w, m, sc, cd.SMOOTH).usd_per_million_tokens
    return jax.grad(usd, argnums=(0, 1))(chip, system)


def make_all_field_fns():
    """(evals, grads) over batched (chip, system, workload, mapping, scenario)."""
    return jax.jit(jax.vmap(cd.evaluate)), jax.jit(jax.vmap(_usd_grad))


def make_four_field_fns(hw, w, sc):
    """(evals, grads) over batched (sram_bytes, tp, pp, batch); everything else constant."""
    def specs(sram_bytes, tp, pp, batch):
        chip = replace(hw.chip, sram_bytes=sram_bytes)
        return chip, hw.system, w, cd.Mapping(tp=tp, pp=pp, ep=1.0, dp=1.0, batch=batch), sc

    return (jax.jit(jax.vmap(lambda *x: cd.evaluate(*specs(*x)))),
            jax.jit(jax.vmap(lambda *x: _usd_grad(*specs(*x)))))


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


def rates(fns, args, n: int, runs: int):
    """(evals/s runs, grads/s runs, first-call seconds) of a pair of batched functions."""
    evals, grads = fns
    first = {"evals": timed(evals, *args), "grads": timed(grads, *args)}
    out = jax.block_until_ready(evals(*args))
    assert all(np.shape(leaf) == (n,) for leaf in jax.tree.leaves(out))
    eval_s = [timed(evals, *args) for _ in range(runs)]
    grad_s = [timed(grads, *args) for _ in range(runs)]
    return [n / t for t in eval_s], [n / t for t in grad_s], first


def missed_targets(result: dict) -> list[str]:
    """Headline figures that miss their target (empty when all are met)."""
    return [k for k, ok in result["meets_targets"].items() if not ok]


def judge(result: dict, targets=TARGETS) -> dict:
    return {"evals_per_s": result["evals_per_s"]["median"] >= targets["evals_per_s"],
            "grads_per_s": result["grads_per_s"]["median"] >= targets["grads_per_s"],
            "compile_s": result["compile_s"]["median"] <= targets["compile_s"]}


def run(batch: int, runs: int, seed: int) -> dict:
    hw, md = cd.load_hardware(HARDWARE), cd.load_model(MODEL)
    w, sc = md.workload("int8", "fp16", "fp16"), cd.Scenario(2048.0, 256.0)
    compiles = compile_times(hw, w, sc, runs)  # first: a cold process, as a user sees it
    full = jax.device_put(all_field_designs(hw.chip, hw.system, w, sc, batch, seed))
    ev_all, gr_all, first_all = rates(make_all_field_fns(), full, batch, runs)
    four = jax.device_put([v.astype(np.float32) for v in four_field_designs(batch, seed).values()])
    ev_4, gr_4, first_4 = rates(make_four_field_fns(hw, w, sc), four, batch, runs)
    varied = {name: len(jax.tree.leaves(spec)) for name, spec in
              zip(("chip", "system", "workload", "mapping", "scenario"), full)}
    result = {
        "benchmark": "evaluate", "hardware": HARDWARE, "model": MODEL, "batch": batch,
        "runs": runs, "dtype": "float32", "metrics_per_design": len(cd.METRIC_NAMES),
        "grad_leaves_per_design": len(jax.tree.leaves((hw.chip, hw.system))),
        "varied_fields": varied, "varied_fields_total": sum(varied.values()),
        "jax_version": jax.__version__, "device": str(jax.devices()[0].device_kind),
        "platform": jax.devices()[0].platform, "cpu_count": os.cpu_count(),
        "evals_per_s": summary(ev_all), "grads_per_s": summary(gr_all),
        "evals_per_s_4_fields": summary(ev_4), "grads_per_s_4_fields": summary(gr_4),
        "compile_s": summary(compiles),
        "first_call_s": first_all, "first_call_s_4_fields": first_4,  # batched: compile + one run
        "targets": TARGETS,
    }
    result["speedup_4_fields_over_all"] = {
        k: result[f"{k}_4_fields"]["median"] / result[k]["median"] for k in ("evals_per_s", "grads_per_s")}
    result["meets_targets"] = judge(result)
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=2**20, help="designs per call (default 2^20)")
    p.add_argument("--runs", type=int, default=7, help="timed runs per figure, >= 1 (default 7)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check", action="store_true", help="exit 1 when a headline target is missed")
    args = p.parse_args(argv)
    if args.batch < 1 or args.runs < 1:
        p.error("--batch and --runs must be >= 1")
    result = run(args.batch, args.runs, args.seed)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    missed = missed_targets(result)
    if args.check and missed:
        print(f"bench_evaluate: missed targets: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
