"""The search benchmark's check can fail (a positive gap over 1 %, too many evaluations),
and its fine reference grid contains the values a searcher may take near its answer."""
import importlib.util
from pathlib import Path

import numpy as np

from codesign.search.reference import local_axes, local_problem
from search_problems import mixed_quadratic

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_search.py"
_spec = importlib.util.spec_from_file_location("bench_search", SCRIPT)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)
MEDIANS = {"gradient": 2.0, "random": 3.0, "cmaes": 2.5}


def test_check_fails_on_a_positive_gap_over_one_percent():
    assert bench.checks([0.0, 0.009], [0.005], MEDIANS)["gap_within_1pct_every_seed"]
    assert bench.checks([-0.05], [0.005], MEDIANS)["gap_within_1pct_every_seed"]  # beating the reference passes
    assert not bench.checks([0.0, 0.011], [0.005], MEDIANS)["gap_within_1pct_every_seed"]  # one bad seed fails
    assert not bench.checks([0.0], [0.02], MEDIANS)["evaluations_within_1pct_of_reference"]
    assert not bench.checks([0.0], [0.005], {**MEDIANS, "random": 1.9})["beats_random_median"]


def test_reference_grid_contains_the_answer_and_its_integer_neighbours():
    problem, _, _ = mixed_quadratic()  # a in [1e6, 1e9] (log), b in 1..20, c in {1, 2, 4, 8, 16}
    design = [1.234e7, 7.0, 4.0]
    a, b, c = local_axes(problem, [design], fine=16)
    assert 1.234e7 in a and len(a) == 17 and a.min() >= 1.234e7 * 0.9 * (1 - 1e-12) and a.max() <= 1.234e7 * 1.1 * (1 + 1e-12)
    assert list(b) == list(range(3, 12))  # +-4 integer steps (and +-15 %: 6..8 is inside)
    assert list(c) == [1.0, 2.0, 4.0, 8.0, 16.0]  # a short list of choices: all of them
    fine = local_problem(problem, [design], fine=16)
    assert fine.space.grid_size == 17 * 9 * 5 and fine.space.variants == problem.space.variants
    np.testing.assert_array_equal(fine.space.grid_axes()[1], b)
