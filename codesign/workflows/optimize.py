"""Search an experiment's design space for its best feasible designs: the report ``codesign
optimize --json`` prints, as plain data."""
import time

from ..objectives import Problem
from ..search import optimize
from ._config import resolve
from ._relay import Relay, from_search
from .settings import objective_value, parse_experiment_problem, search_settings


def objective_unit(problem: Problem) -> str:
    """What :func:`objective_value` is measured in: the metric's name, or ``"objective"``."""
    return problem.objective.metrics[0] if len(problem.objective.terms) == 1 else "objective"


def run_optimize(cfg, method: str | None = None, budget: int | None = None, seed: int | None = None,
                 top: int | None = None, sensitivities: bool = False, progress=None,
                 name: str | None = None) -> dict:
    """Run the configured search (arguments override the ``search:`` block).

    Args:
        cfg: experiment config mapping, or the path of its YAML file.
        method, budget, seed, top: override ``search.method`` etc.; None keeps the config's.
        sensitivities: add the objective's elasticities and each active constraint's worth.
        progress: called with :class:`codesign.progress.Progress` (``best`` in the objective
            metric's own unit, see :func:`objective_value`), fraction ending at 1.
        name: the ``config`` entry of the report (default: the path, or None).

    Returns:
        {config, method, objective, constraints, variables, variants, seed, feasible,
        evaluations, exact_evaluations, gradient_evaluations, wall_s, designs (best first,
        each with objective_value), closest (infeasible only), sensitivities (if asked),
        total_wall_s}. An infeasible search returns feasible False and ``closest``; it does not raise.
    """
    t0 = time.perf_counter()
    cfg, name = resolve(cfg, name)
    problem = parse_experiment_problem(cfg)
    st = search_settings(cfg, {"method": method, "budget": budget, "seed": seed, "top": top})
    relay = Relay(progress, lambda p: from_search(p, best=lambda b: objective_value(problem, b)))
    result = optimize(problem, st["method"], st["budget"], st["seed"], relay if progress is not None else None, st["top"], **st["hyper"])
    relay.finish(task=result.method, done=result.total_evals)
    out = {"config": name, "method": result.method, "objective": problem.objective.describe(),
           "constraints": list(problem.constraints.names), "variables": list(problem.space.names),
           "variants": len(problem.space.variants), "seed": st["seed"], "feasible": result.feasible,
           "evaluations": result.total_evals, "exact_evaluations": result.evals,
           "gradient_evaluations": result.grad_evals, "wall_s": result.wall_s}
    for d in result.designs:
        d["objective_value"] = objective_value(problem, d["objective"])
    out["designs"] = result.designs
    if not result.feasible:
        out["closest"] = result.closest
    elif sensitivities:
        from ..search.sensitivity import at_optimum  # noqa: PLC0415 (re-optimises: only when asked)
        out["sensitivities"] = at_optimum(problem, result.best)
    out["total_wall_s"] = time.perf_counter() - t0
    return out
