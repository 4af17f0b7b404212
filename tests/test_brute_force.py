"""The LPU search problem solved by brute force, so the search tests' golden optimum is
computed in the repo rather than quoted."""
import pytest


def test_lpu_problem_optimum_by_brute_force(lpu_brute_force):
    best = lpu_brute_force
    assert best["feasible"] > 1000  # a real competition, not one lone feasible point
    assert best["usd_per_million_tokens"] == pytest.approx(7.5385, rel=1e-3)
    assert (best["mapping.tp"], best["mapping.pp"], best["mapping.batch"]) == (8.0, 80.0, 457.0)
    # 403 MB per chip: the die (fixed logic + SRAM) reaches the reticle.
    assert best["chip.sram_bytes"] == pytest.approx(403e6, rel=0.01)
