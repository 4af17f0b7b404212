"""Speed of the serving simulator: simulated requests per second summed over a vmapped batch
of scenarios, wall time of one 10,000-request scenario after compilation, compile time, and
the same scenarios through the plain-Python reference in the same run. Prints one JSON object.

    python benchmarks/bench_serving.py [--scenarios B] [--requests N] [--big N] [--runs R]
                                       [--reference-scenarios K] [--check]

* Design: Llama-2-70B (fp16) on one 8xH100 replica (TP8), KV capacity from the memory model.
* Policy: ``chunked`` (Sarathi-like), 64 slots, 2048-token budget, 16-token pages,
  recompute preemption.
* Scenarios: Poisson arrivals at rates spread over 2..8 requests/s, lognormal prompts
  (mean 512, CV 0.5, 16..2048) and outputs (mean 128, CV 0.5, 4..512), one key each.
* ``requests_per_s``: B x N / wall time of ``jit(vmap(simulate))`` after a warm-up call,
  median (min, max) of ``--runs``; per-iteration series off (accumulators only).
* ``big_scenario_s``: one scenario of ``--big`` requests at 6 requests/s, after compilation
  (wall time; ``big_scenario_cpu_s``: its process CPU time, best of ``--runs``, robust to
  other processes' load).
* ``compile_s``: wall time of the first call of each jitted function (trace, compile, run).
* ``reference_requests_per_s``: the first K scenarios of the batch through
  :mod:`codesign.serving.reference` (float32 inputs, its own compiled step function), and
  ``speedup_over_reference``: simulated requests per CPU second (process time, all
  threads, best of ``--runs``) of the batch over the reference's; the two run one after
  the other, so a CPU-time ratio is not skewed by other processes' load (the wall-time
  ratio is ``speedup_over_reference_wall``). The JSON also reports the largest relative
  difference of TTFT and finish times between the two (float32 here; the tests check
  1e-6 in float64).

``--check`` exits with status 1 when a headline figure misses its target (``meets_targets``).
"""
import argparse
import json
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import codesign as cd
import codesign.serving as sv
from codesign.serving import reference

TARGETS = {"requests_per_s": 1e6, "big_scenario_s": 0.1, "speedup_over_reference": 100.0}
HARDWARE, MODEL = "h100-sxm", "llama-2-70b"
POLICY = sv.Policy("chunked", max_slots=64, token_budget=2048, page_tokens=16)
PROMPT = sv.Lengths("lognormal", 512.0, 0.5, lo=16.0, hi=2048.0)
OUTPUT = sv.Lengths("lognormal", 128.0, 0.5, lo=4.0, hi=512.0)


def design():
    hw, md = cd.load_hardware(HARDWARE), cd.load_model(MODEL)
    m = cd.Mapping(tp=8.0, pp=1.0, ep=1.0, dp=1.0, batch=1.0)
    return sv.make_pool(hw.chip, hw.system, md.workload("fp16", "fp16", "fp16"), m, POLICY)


def scenarios(b: int, n: int, seed: int) -> sv.Requests:
    keys = jax.random.split(jax.random.PRNGKey(seed), b)
    rates = jnp.linspace(2.0, 8.0, b)
    return jax.vmap(lambda k, r: sv.make_requests(k, n, r, prompt=PROMPT, output=OUTPUT))(keys, rates)


def bound(req: sv.Requests) -> int:
    """max_iterations covering every scenario of a batch."""
    return max(sv.iteration_bound(jax.tree.map(lambda x: x[i], req), POLICY) for i in range(req.arrival_s.shape[0]))


def timed(fn, *args):
    t = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return time.perf_counter() - t, out


def cpu_timed(fn, *args):
    """(process CPU seconds, all threads, result): robust to other processes' load."""
    t = time.process_time()
    out = jax.block_until_ready(fn(*args))
    return time.process_time() - t, out


def summary(values) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    f = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return float("inf")
    return float(np.max(np.abs(a[f] - b[f]) / np.maximum(np.abs(b[f]), 1e-30), initial=0.0))


def judge(result: dict, targets=TARGETS) -> dict:
    return {"requests_per_s": result["requests_per_s"]["median"] >= targets["requests_per_s"],
            "big_scenario_s": result["big_scenario_s"]["median"] <= targets["big_scenario_s"],
            "speedup_over_reference": result["speedup_over_reference"] >= targets["speedup_over_reference"]}


def missed_targets(result: dict) -> list[str]:
    return [k for k, ok in result["meets_targets"].items() if not ok]


def run(b: int, n: int, big: int, runs: int, k_ref: int, seed: int) -> dict:
    pool = design()
    req = scenarios(b, n, seed)
    iters = bound(req)
    batch = jax.jit(jax.vmap(lambda r: sv.simulate(r, pool, POLICY, iters, record_iterations=False)))
    compile_batch, tr = timed(batch, req)
    batch_s = [timed(batch, req)[0] for _ in range(runs)]
    batch_cpu = min(cpu_timed(batch, req)[0] for _ in range(runs))
    one = sv.make_requests(jax.random.PRNGKey(seed + 1), big, 6.0, prompt=PROMPT, output=OUTPUT)
    single = jax.jit(lambda r: sv.simulate(r, pool, POLICY, sv.iteration_bound(one, POLICY), record_iterations=False))
    compile_single, big_tr = timed(single, one)
    big_s = [timed(single, one)[0] for _ in range(runs)]
    big_cpu = min(cpu_timed(single, one)[0] for _ in range(runs))
    # the same scenarios through the reference
    step = reference.step_fn(pool)
    t, t_cpu = time.perf_counter(), time.process_time()
    refs = [reference.run(*(np.asarray(getattr(req, f)[i]) for f in ("arrival_s", "prompt_tokens", "output_tokens",
                                                                       "valid")), pool, POLICY, step=step)
            for i in range(k_ref)]
    ref_s, ref_cpu = time.perf_counter() - t, time.process_time() - t_cpu
    diff = max(max(_rel(tr.first_token_s[i], refs[i]["first_token_s"]), _rel(tr.finish_s[i], refs[i]["finish_s"]))
               for i in range(k_ref))
    rps = [b * n / s for s in batch_s]
    ref_rps = k_ref * n / ref_s
    m = jax.vmap(lambda r, t_: sv.summarize(r, t_, sv.SLO()))(req, tr)
    result = {
        "benchmark": "serving", "hardware": HARDWARE, "model": MODEL, "policy": POLICY.kind,
        "max_slots": POLICY.max_slots, "token_budget": POLICY.token_budget, "scenarios": b,
        "requests_per_scenario": n, "big_requests": big, "runs": runs, "dtype": str(jnp.result_type(float)),
        "jax_version": jax.__version__, "platform": jax.devices()[0].platform, "cpu_count": os.cpu_count(),
        "max_iterations": iters, "iterations_mean": float(np.mean(tr.iterations_run)),
        "iterations_max": float(np.max(tr.iterations_run)), "exhausted": float(np.sum(tr.exhausted)),
        "preemptions": float(np.sum(tr.preemptions)), "big_iterations": float(big_tr.iterations_run),
        "big_exhausted": float(big_tr.exhausted),
        "ttft_p99_s_range": [float(np.min(m.ttft_p99_s)), float(np.max(m.ttft_p99_s))],
        "requests_per_s": summary(rps), "big_scenario_s": summary(big_s), "big_scenario_cpu_s": big_cpu,
        "compile_s": {"batch": compile_batch, "single": compile_single},
        "reference_scenarios": k_ref, "reference_s": ref_s, "reference_requests_per_s": ref_rps,
        "speedup_over_reference_wall": statistics.median(rps) / ref_rps,
        "requests_per_cpu_s": b * n / batch_cpu, "reference_requests_per_cpu_s": k_ref * n / ref_cpu,
        "speedup_over_reference": (b * n / batch_cpu) / (k_ref * n / ref_cpu),
        "max_rel_diff_vs_reference": diff, "targets": TARGETS,
    }
    result["meets_targets"] = judge(result)
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenarios", type=int, default=256, help="vmapped scenarios (default 256)")
    p.add_argument("--requests", type=int, default=256, help="requests per scenario (default 256)")
    p.add_argument("--big", type=int, default=10_000, help="requests of the single scenario (default 10000)")
    p.add_argument("--runs", type=int, default=3, help="timed runs per figure, >= 1 (default 3)")
    p.add_argument("--reference-scenarios", type=int, default=2, help="scenarios through the reference (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check", action="store_true", help="exit 1 when a headline target is missed")
    a = p.parse_args(argv)
    if min(a.scenarios, a.requests, a.big, a.runs, a.reference_scenarios) < 1 or a.reference_scenarios > a.scenarios:
        p.error("counts must be >= 1 and --reference-scenarios <= --scenarios")
    result = run(a.scenarios, a.requests, a.big, a.runs, a.reference_scenarios, a.seed)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    missed = missed_targets(result)
    if a.check and missed:
        print(f"bench_serving: missed targets: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
