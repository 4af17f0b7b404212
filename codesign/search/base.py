"""The host driver every searcher shares, and the result it reports.

The algorithms are pure and jit-able (:mod:`.algorithm`: evosax-style ``init``/``ask``/``tell``
with traced hyper-parameters; :mod:`.cmaes`, :mod:`.descent`). A factory wraps one for a
problem as a :class:`Searcher` — the host loop of compiled generations or chunks —

    s = searcher.init(key); while not searcher.done(s): s = searcher.step(s)

whose state carries an :class:`~codesign.search.archive.Archive` of the designs evaluated
exactly and the evaluations counted. :func:`run` owns the loop and progress (a
:class:`codesign.progress.Progress` per step; library code never prints) and turns the
archive into a :class:`SearchResult`: only feasible designs are ever results; an
infeasible search says which constraint came closest to being met.
"""
import dataclasses
import math
import time
from typing import Any, Callable, NamedTuple

import jax
import numpy as np

from ..model import METRIC_NAMES
from ..objectives import Problem
from ..progress import Progress
from .archive import Archive


class Searcher(NamedTuple):
    name: str
    init: Callable[[jax.Array], Any]  # key -> state
    step: Callable[[Any], Any]  # state -> state
    done: Callable[[Any], bool]
    archive: Callable[[Any], Archive]
    fraction: Callable[[Any], float]  # progress in [0, 1]


@dataclasses.dataclass(frozen=True)
class SearchResult:
    method: str
    designs: list  # feasible designs, best first (dicts; see design_dict)
    evals: int  # exact model evaluations
    grad_evals: int  # value-and-gradient evaluations of the relaxed model
    wall_s: float
    trace: tuple  # (evaluations, best objective) pairs
    closest: dict | None  # for an infeasible search: the least-violating design and its misses

    @property
    def feasible(self) -> bool:
        return bool(self.designs)

    @property
    def best(self) -> dict | None:
        return self.designs[0] if self.designs else None

    @property
    def best_objective(self) -> float:
        return self.designs[0]["objective"] if self.designs else math.inf

    @property
    def total_evals(self) -> int:
        return self.evals + self.grad_evals

    def to_dict(self) -> dict:
        return {"method": self.method, "feasible": self.feasible, "evaluations": self.total_evals,
                "exact_evaluations": self.evals, "gradient_evaluations": self.grad_evals,
                "wall_s": self.wall_s, "designs": self.designs, "closest": self.closest}


def run(searcher: Searcher, key, progress: Callable[[Progress], None] | None = None,
        problem: Problem | None = None, top: int = 5) -> SearchResult | Archive:
    """Run ``searcher`` to completion; with ``problem``, return a SearchResult of the ``top``
    best distinct feasible designs, else the final Archive."""
    t0 = time.perf_counter()
    state = searcher.init(key)
    while not searcher.done(state):
        state = searcher.step(state)
        if progress is not None:
            a = searcher.archive(state)
            best = float(a.objective[0]) if len(a.objective) else math.inf
            progress(search_progress(searcher.name, float(searcher.fraction(state)), a.evals + a.grad_evals, best,
                                     time.perf_counter() - t0))
    archive = searcher.archive(state)
    if problem is None:
        return archive
    return make_result(problem, archive, searcher.name, time.perf_counter() - t0, top)


def split_budget(budget: int, parts: int) -> list[int]:
    """``budget`` evaluations shared as evenly as possible by ``parts`` variants (the first
    ``budget % parts`` get one more)."""
    return [budget // parts + (1 if v < budget % parts else 0) for v in range(parts)]


def search_progress(task: str, fraction: float, evals: int, best: float, elapsed_s: float) -> Progress:
    """The progress record of a search: ``done`` counts exact + gradient evaluations and
    ``best`` is the best feasible objective so far (inf if none)."""
    return Progress(task, fraction, int(evals), None, "evaluations", float(best), float(elapsed_s))


def design_dict(problem: Problem, variant: int, x, objective, metrics_row, g) -> dict:
    space = problem.space
    values = {}
    for v, xi in zip(space.variables, np.asarray(x, float)):
        values[v.path] = float(round(xi)) if v.kind == "integer" else float(xi)
    return {"variant": dict(space.variants[variant].label), "variables": values,
            "objective": float(objective),
            "metrics": {k: float(metrics_row[i]) for i, k in enumerate(METRIC_NAMES)},
            "constraints": {n: float(gi) for n, gi in zip(problem.constraints.names, g)}}


def make_result(problem: Problem, a: Archive, method: str, wall_s: float, top: int = 5) -> SearchResult:
    designs = [design_dict(problem, int(a.variant[i]), a.x[i], a.objective[i], a.metrics[i], a.g[i])
               for i in range(min(top, len(a.objective)))]
    closest = None if designs else diagnose(problem, a)
    return SearchResult(method, designs, a.evals, a.grad_evals, wall_s, a.trace, closest)


def diagnose(problem: Problem, a: Archive) -> dict:
    """The least-violating design seen and, for each constraint it misses, by how much."""
    if a.closest is None:
        return {"message": "every evaluated design gave a non-finite objective or constraint", "misses": []}
    viol, variant, x, g, metrics = a.closest
    d = design_dict(problem, variant, x, math.nan, metrics, g)
    misses = []
    for name, gi in zip(problem.constraints.names, g):
        if gi > 0:
            misses.append({"constraint": name, "g": float(gi), "miss": _miss_text(problem, name, gi, d["metrics"])})
    misses.sort(key=lambda m: m["g"])
    head = misses[0] if misses else None
    msg = (f"no feasible design in {a.evals + a.grad_evals} evaluations; the constraint closest to being met "
           f"is {head['constraint']}: {head['miss']}" if head else "no feasible design found")
    if len(misses) > 1:
        msg += "; the closest design also misses " + "; ".join(f"{m['constraint']}: {m['miss']}" for m in misses[1:])
    return {"message": msg, "misses": misses, "design": d}


def _miss_text(problem: Problem, name: str, g: float, metrics: dict) -> str:
    pct = (math.exp(g) - 1.0) * 100.0
    if name == "memory_fits":
        return (f"needs {metrics['memory_per_chip_bytes'] / 1e9:.4g} GB per chip, capacity "
                f"{metrics['memory_capacity_bytes'] / 1e9:.4g} GB ({pct:.3g}% over)")
    if name == "die_reticle":
        return f"die {metrics['die_area_mm2']:.0f} mm2 exceeds the reticle by {pct:.3g}%"
    if name == "divisibility":
        return f"{int(round(g))} divisibility rule(s) broken (tp | heads, ep | tp and experts, pp <= layers)"
    metric = name.split(" ")[0]
    return f"best reaches {metrics.get(metric, math.nan):.4g}, off by {pct:.3g}%"
