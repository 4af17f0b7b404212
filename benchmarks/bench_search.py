"""Search benchmark on the standard problem (configs/experiments/search_benchmark.yaml):
gradient vs exhaustive grid vs random search vs CMA-ES, in one run, over several seeds.
Prints (and with --json PATH writes) one JSON object.

    python benchmarks/bench_search.py [CONFIG] [--seeds 10] [--budget N] [--json PATH]

* grid: every point of the space's grid once (deterministic): the reference optimum.
* gradient: ``--budget`` evaluations (default: the config's search.budget), each seed.
* random, cmaes: per seed, exactly the number of evaluations the gradient search used in
  that seed (equal budgets).

Per method: median (min, max) over seeds of the best feasible objective (the metric value,
e.g. $/Mtok), evaluations and wall time (the first seed's wall time includes compilation and
is reported separately). The gradient's gap to the grid optimum is (best / grid - 1), so a
negative gap means it beat the grid (its integers and continuous values are not confined to
grid points). Checks: gap <= 1%, evaluations <= 1% of the grid's, median better than
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
from codesign.workflows import objective_value, parse_experiment_problem, search_settings  # noqa: E402

DEFAULT_CONFIG = os.path.join(HERE, "..", "configs", "experiments", "search_benchmark.yaml")


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def one(problem, method, budget, seed):
    res = optimize(problem, method, budget, seed, top=1)
    value = objective_value(problem, res.best_objective) if res.feasible else float("inf")
    design = res.best["variables"] | {"variant": res.best["variant"]} if res.feasible else None
    return {"seed": seed, "best": value, "evaluations": res.total_evals, "exact_evaluations": res.evals,
            "gradient_evaluations": res.grad_evals, "wall_s": res.wall_s, "design": design}


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
    grid_points = problem.space.grid_size * len(problem.space.variants)
    print(f"standard problem: {problem.space.dim} numeric variables + {len(problem.space.variants)} variants, "
          f"grid {grid_points:,} points; gradient budget {budget:,}", file=sys.stderr)

    grid = one(problem, "grid", None, 0)
    print(f"grid: best {grid['best']:.5g} in {grid['evaluations']:,} evaluations, {grid['wall_s']:.1f} s",
          file=sys.stderr)
    runs = {"gradient": [], "random": [], "cmaes": []}
    for seed in range(args.seeds):
        g = one(problem, "gradient", budget, seed)
        runs["gradient"].append(g)
        for method in ("random", "cmaes"):
            runs[method].append(one(problem, method, g["evaluations"], seed))
        print(f"seed {seed}: " + ", ".join(f"{m} {r[-1]['best']:.5g} ({r[-1]['evaluations']:,} evals, "
                                            f"{r[-1]['wall_s']:.2f} s)" for m, r in runs.items()), file=sys.stderr)

    methods = {"grid": {"best": grid["best"], "evaluations": grid["evaluations"], "wall_s": grid["wall_s"],
                        "design": grid["design"]}}
    for m, rs in runs.items():
        methods[m] = {"best": summary([r["best"] for r in rs]), "evaluations": summary([r["evaluations"] for r in rs]),
                      "wall_s": summary([r["wall_s"] for r in rs[1:]] or [rs[0]["wall_s"]]),
                      "wall_s_first_seed_with_compilation": rs[0]["wall_s"], "runs": rs}
    gaps = [r["best"] / grid["best"] - 1.0 for r in runs["gradient"]]
    fractions = [r["evaluations"] / grid["evaluations"] for r in runs["gradient"]]
    med = {m: methods[m]["best"]["median"] for m in runs}
    out = {"config": args.config, "objective": problem.objective.describe(),
           "constraints": list(problem.constraints.names), "variables": list(problem.space.names),
           "variants": [v.label for v in problem.space.variants], "grid_points": grid_points, "seeds": args.seeds,
           "gradient_budget": budget, "methods": methods,
           "gradient_gap_to_grid": summary(gaps), "gradient_fraction_of_grid_evaluations": summary(fractions),
           "checks": {"gap_within_1pct_every_seed": max(gaps) <= 0.01,
                      "median_gap_within_1pct": statistics.median(gaps) <= 0.01,
                      "evaluations_within_1pct_of_grid": max(fractions) <= 0.01,
                      "beats_random_median": med["gradient"] < med["random"],
                      "beats_cmaes_median": med["gradient"] < med["cmaes"]},
           "wall_s_total": time.perf_counter() - t0}
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            f.write(text + "\n")
    return 0 if all(out["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
