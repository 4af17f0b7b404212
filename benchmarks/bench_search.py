"""Search benchmark on the standard problem (configs/experiments/search_benchmark.yaml):
gradient vs an exhaustive reference vs random search vs CMA-ES, over several seeds.
Prints (and with --json PATH writes) one JSON object; exit 1 when a check fails.

    python benchmarks/bench_search.py [CONFIG] [--seeds 10] [--budget N] [--json PATH]

* reference: the config's exhaustive grid, then a fine exhaustive grid around its optimum
  and around every seed's gradient answer (:mod:`codesign.search.reference`: every allowed
  tp, pp within +-4, batch within +-15 %, 64 SRAM sizes and 64 clocks over the designs'
  range +-10 % plus the designs' own values, both KV formats): it contains, up to the continuous step, every value the
  gradient search may take near its answer. Its optimum is the best of both grids.
* gradient: ``--budget`` evaluations (default: the config's search.budget), each seed.
* random, cmaes: per seed, exactly the number of evaluations the gradient search used.

Every method runs at XLA's default optimisation level (the gradient searcher's own
programs skip the expensive backend passes on CPU: they compile once and run a few thousand
points). Wall times are compared twice, both including compilation (each method's first
run in a fresh compile cache) and both excluding it (later seeds; the reference grid is
run a second time). Exact and gradient evaluations are counted separately.

gap = best / reference optimum - 1: positive when the gradient search is worse. Checks:
gap <= 1 % on every seed (a negative gap, a design between grid points that beats the
reference, passes), gradient evaluations <= 1 % of the reference's, median better than
random's and CMA-ES's.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from codesign.config import load_experiment  # noqa: E402
from codesign.search import optimize  # noqa: E402
from codesign.search.evaluator import compile_options  # noqa: E402
from codesign.search.reference import local_problem  # noqa: E402
from codesign.workflows import objective_value, parse_experiment_problem, search_settings  # noqa: E402

DEFAULT_CONFIG = os.path.join(HERE, "..", "configs", "experiments", "search_benchmark.yaml")
MAX_GAP = 0.01  # the gradient's answer within 1 % of the reference optimum on every seed
MAX_FRACTION = 0.01  # with at most 1 % of the reference's evaluations
FINE = 64  # points per continuous variable in the fine reference grid


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def one(problem, method, budget, seed):
    t0 = time.perf_counter()
    res = optimize(problem, method, budget, seed, top=1)
    value = objective_value(problem, res.best_objective) if res.feasible else float("inf")
    x = [res.best["variables"][n] for n in problem.space.names] if res.feasible else None
    design = res.best["variables"] | {"variant": res.best["variant"]} if res.feasible else None
    return {"seed": seed, "best": value, "evaluations": res.total_evals, "exact_evaluations": res.evals,
            "gradient_evaluations": res.grad_evals, "wall_s": time.perf_counter() - t0, "design": design, "x": x}


def checks(gaps, fractions, medians) -> dict:
    """The benchmark's pass/fail checks: ``gaps`` per seed (best / reference - 1, positive =
    worse), ``fractions`` of the reference's evaluations, ``medians`` best per method."""
    return {"gap_within_1pct_every_seed": max(gaps) <= MAX_GAP,
            "evaluations_within_1pct_of_reference": max(fractions) <= MAX_FRACTION,
            "beats_random_median": medians["gradient"] < medians["random"],
            "beats_cmaes_median": medians["gradient"] < medians["cmaes"]}


def reference(problem, designs):
    """(best value, evaluations, wall s with compilation, wall s without, design) of the
    config's grid and the fine local grid around ``designs`` (rows of x)."""
    coarse = one(problem, "grid", None, 0)
    again = one(problem, "grid", None, 0)  # compiled: the grid's run time alone
    fine_problem = local_problem(problem, designs + [coarse["x"]], fine=FINE)
    fine = one(fine_problem, "grid", None, 0)
    fine_again = one(fine_problem, "grid", None, 0)
    best = min((coarse, fine), key=lambda r: r["best"])
    return {"best": best["best"], "design": best["design"],
            "evaluations": coarse["evaluations"] + fine["evaluations"],
            "coarse_grid": {"points": coarse["evaluations"], "best": coarse["best"], "design": coarse["design"]},
            "fine_grid": {"points": fine["evaluations"], "best": fine["best"], "design": fine["design"],
                          "axes": dict(zip(problem.space.names, fine_problem.space.grid_shape))},
            "wall_s_with_compilation": coarse["wall_s"] + fine["wall_s"],
            "wall_s_without_compilation": again["wall_s"] + fine_again["wall_s"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default=DEFAULT_CONFIG)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, help="gradient budget (default: the config's search.budget)")
    ap.add_argument("--json", metavar="PATH", help="also write the result here")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    cfg = load_experiment(args.config)
    problem = parse_experiment_problem(cfg)
    budget = args.budget or search_settings(cfg)["budget"] or 20000
    print(f"standard problem: {problem.space.dim} numeric variables + {len(problem.space.variants)} variants, "
          f"grid {problem.space.grid_size * len(problem.space.variants):,} points; gradient budget {budget:,}",
          file=sys.stderr)
    runs = {"gradient": [], "random": [], "cmaes": []}
    for seed in range(args.seeds):
        g = one(problem, "gradient", budget, seed)
        runs["gradient"].append(g)
        for method in ("random", "cmaes"):
            runs[method].append(one(problem, method, g["evaluations"], seed))
        print(f"seed {seed}: " + ", ".join(f"{m} {r[-1]['best']:.5g} ({r[-1]['evaluations']:,} evals, "
                                            f"{r[-1]['wall_s']:.2f} s)" for m, r in runs.items()), file=sys.stderr)
    ref = reference(problem, [r["x"] for r in runs["gradient"] if r["x"] is not None])
    print(f"reference: best {ref['best']:.5g} in {ref['evaluations']:,} evaluations "
          f"({ref['wall_s_with_compilation']:.1f} s with compilation)", file=sys.stderr)

    methods = {"reference": ref}
    for m, rs in runs.items():
        for r in rs:
            r.pop("x")
        methods[m] = {"best": summary([r["best"] for r in rs]), "evaluations": summary([r["evaluations"] for r in rs]),
                      "exact_evaluations": summary([r["exact_evaluations"] for r in rs]),
                      "gradient_evaluations": summary([r["gradient_evaluations"] for r in rs]),
                      "wall_s_with_compilation": rs[0]["wall_s"],
                      "wall_s_without_compilation": summary([r["wall_s"] for r in rs[1:]] or [rs[0]["wall_s"]]),
                      "runs": rs}
    gaps = [r["best"] / ref["best"] - 1.0 for r in runs["gradient"]]
    fractions = [r["evaluations"] / ref["evaluations"] for r in runs["gradient"]]
    med = {m: methods[m]["best"]["median"] for m in runs}
    out = {"config": args.config, "objective": problem.objective.describe(),
           "constraints": list(problem.constraints.names), "variables": list(problem.space.names),
           "variants": [v.label for v in problem.space.variants], "seeds": args.seeds, "gradient_budget": budget,
           "methods": methods, "gradient_gap_to_reference": summary(gaps),
           "gradient_abs_gap_to_reference": summary([abs(g) for g in gaps]),
           "gradient_fraction_of_reference_evaluations": summary(fractions),
           "gradient_vs_reference_wall_with_compilation": methods["gradient"]["wall_s_with_compilation"]
           / ref["wall_s_with_compilation"],
           "compile_options": {"gradient": compile_options(), "reference, random, cmaes": compile_options(True)},
           "checks": checks(gaps, fractions, med), "wall_s_total": time.perf_counter() - t0}
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            f.write(text + "\n")
    return 0 if all(out["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
