r"""Search over serving designs: goodput per dollar (or per watt) at a p99 SLO, by simulation.

A serve-search config is a serve config (``serve:``, a path or the mapping inline) with a
``space:`` of discrete choices written into it, an ``objective:`` (or ``pareto:`` of two of
:data:`SERVE_OBJECTIVES`) and a ``search:`` block:

.. code-block:: yaml

    serve: ../serving/h100x8_llama2_70b_server.yaml
    space:
      design.hardware: [h100-sxm, h200-sxm]
      design.tp: [1, 2, 4]               # replicas follow: dp = 8 / tp
      design.dp: {from: design.tp, chips: 8}
      policy.max_slots: [256, 1024]
    objective: goodput_per_musd_capex
    search: {method: random, budget: 6, seed: 0, points: 8}   # points: rates per max-rate grid

Each candidate's objective is measured at its max rate (:func:`codesign.workflows.serve.max_rate`:
the highest arrival rate whose SLO-percentile TTFT and TPOT meet the SLO):

.. math:: J = \frac{\lambda^*}{\mathrm{capex}} \ (\text{per \$M}),\quad
          \frac{\lambda^* \bar n_\mathrm{out}\, u\, T_\mathrm{life}}{\mathrm{TCO}} \ (\text{tokens per \$}),\quad
          \frac{\lambda^*}{P_\mathrm{node}} \ (\text{per kW}).

**Searchers: gradient-free only** (``random``: distinct points of the choice grid drawn
uniformly; ``grid``: all of them). The max rate is a step function of every variable
through a finite simulation (the first rate of a grid whose p99 fails; integer batch slots,
tp and page counts), so a smooth relaxation would differentiate the noise of one draw of
requests, not the design; no gradient is claimed. Invalid combinations (a tp not dividing the
heads, a design whose KV holds no request) are reported with their reason and skipped.
"""
import copy
import dataclasses
import itertools
import math
import time

import numpy as np

from ..config import load_experiment
from ..config.serving import load_serve_config
from ..design.entries import check_keys
from ..design.fields import COUNT, SEED, integer
from ..errors import ConfigError
from ..progress import Progress
from .serve import build_setup, max_rate, system_cost

#: name -> (description, larger is better).
SERVE_OBJECTIVES = {
    "goodput_per_musd_capex": "max goodput (requests/s) per $M of capex",
    "good_tokens_per_usd_tco": "output tokens served at the max goodput over the lifetime (at the preset "
                               "utilization) per $ of TCO",
    "goodput_per_kw": "max goodput (requests/s) per kW of node-boundary serving power",
    "tokens_per_s_per_user": "1 / mean TPOT at the max goodput",
    "tokens_per_s_per_chip": "output tokens/s per chip at the max goodput",
}
SEARCH_METHODS = ("random", "grid")
KEYS = ("serve", "space", "objective", "pareto", "search", "title")


@dataclasses.dataclass(frozen=True)
class ServeSearch:
    """A validated serve-search config."""

    base: dict  # the serve config mapping the space writes into
    base_dir: str | None
    names: tuple[str, ...]
    choices: tuple[tuple, ...]
    tied: dict  # path -> (source path, chips): dp = chips / (tp x pp) style ties
    objectives: tuple[str, ...]  # one (optimize) or two (pareto)
    method: str
    budget: int
    seed: int
    title: str
    points: int | None = None  # rates per max-rate grid (None: the serve config's max_rate.points)


def is_serve_search(cfg) -> bool:
    """Whether an optimize/pareto config is a serving search (it has a ``serve:`` key)."""
    return isinstance(cfg, dict) and "serve" in cfg


def parse_serve_search(cfg: dict, base_dir: str | None = None, pareto: bool = False) -> ServeSearch:
    """Validate a serve-search config (keys :data:`KEYS`); ``pareto`` requires two objectives.

    Raises:
        ConfigError: naming the key, the bad value and what is allowed.
    """
    check_keys("serve search", cfg, ["serve", "space"], KEYS[2:])
    base = cfg["serve"]
    if isinstance(base, str):
        import os  # noqa: PLC0415

        path = base if os.path.isabs(base) or base_dir is None else os.path.join(base_dir, base)
        base, base_dir = load_experiment(path), os.path.dirname(os.path.abspath(path))
    if not isinstance(base, dict):
        raise ConfigError(f"serve = {cfg['serve']!r}; allowed: the path of a serve config or its mapping")
    space = cfg["space"]
    if not isinstance(space, dict) or not space:
        raise ConfigError("space: expected {path: [choices]} (e.g. design.tp: [1, 2, 4], policy.max_slots: [64, 256])")
    names, choices, tied = [], [], {}
    for path, v in space.items():
        _check_path(path, base)
        if isinstance(v, dict):
            check_keys(f"space.{path}", v, ["from", "chips"])
            if v["from"] not in space or isinstance(space[v["from"]], dict):
                raise ConfigError(f"space.{path}: from = {v['from']!r}; allowed: a path of the space with choices")
            tied[path] = (v["from"], integer(f"space.{path}.chips", v["chips"], COUNT))
            continue
        if not isinstance(v, list) or not v or any(isinstance(x, (dict, list)) or isinstance(x, bool) for x in v):
            raise ConfigError(f"space.{path} = {v!r}; allowed: a non-empty list of choices (numbers or names)")
        names.append(path)
        choices.append(tuple(v))
    key = "pareto" if pareto else "objective"
    obj = cfg.get(key)
    objs = tuple(obj) if isinstance(obj, list) else (obj,) if obj is not None else ()
    if not objs:
        raise ConfigError(f"serve search: give `{key}:` ({'two of ' if pareto else 'one of '}{', '.join(SERVE_OBJECTIVES)})")
    for o in objs:
        if o not in SERVE_OBJECTIVES:
            raise ConfigError(f"{key}: {o!r}; allowed: {', '.join(SERVE_OBJECTIVES)}")
    if len(objs) != (2 if pareto else 1):
        raise ConfigError(f"{key} = {obj!r}; allowed: {'two objectives' if pareto else 'one objective'}")
    st = cfg.get("search") or {}
    if not isinstance(st, dict):
        raise ConfigError(f"search = {st!r}; allowed: {{method: random|grid, budget: N, seed: S}}")
    check_keys("search", st, [], ["method", "budget", "seed", "points"])
    method = st.get("method", "random")
    if method not in SEARCH_METHODS:
        raise ConfigError(f"search.method = {method!r}; allowed: {', '.join(SEARCH_METHODS)} (gradient-free: the "
                          "max rate of a finite simulation is a step function, see codesign.workflows.serve_search)")
    size = int(np.prod([len(c) for c in choices]))
    budget = integer("search.budget", st.get("budget", min(size, 8)), COUNT)
    seed = integer("search.seed", st.get("seed", 0), SEED)
    points = integer("search.points", st["points"], COUNT) if "points" in st else None
    if points is not None and points < 2:
        raise ConfigError(f"search.points = {points}; allowed: an integer >= 2 (rates per vectorized call)")
    return ServeSearch(base, base_dir, tuple(names), tuple(choices), tied, objs, method, budget, seed,
                       str(cfg.get("title", "")), points)


def _check_path(path: str, base: dict):
    head = path.split(".")[0]
    allowed = ("design", "pools", "policy", "slo", "arrivals")
    if head not in allowed or "." not in path:
        raise ConfigError(f"space: {path!r}; allowed: a path under {', '.join(allowed)} (design.tp, "
                          "policy.max_slots, pools.prefill.dp, design.chip.hbm_bw_bytes_per_s, ...)")
    if head in ("design", "pools") and head not in base:
        raise ConfigError(f"space: {path!r} but the serve config has no `{head}:`")


def candidates(ss: ServeSearch) -> list[tuple]:
    """The points to evaluate: every grid point (``grid``, or ``random`` with a budget at
    least the grid's size), else ``budget`` distinct points drawn uniformly (seeded)."""
    grid = list(itertools.product(*ss.choices))
    if ss.method == "grid" or ss.budget >= len(grid):
        return grid
    rng = np.random.default_rng(ss.seed)
    return [grid[i] for i in sorted(rng.choice(len(grid), size=ss.budget, replace=False))]


def apply_point(ss: ServeSearch, point: tuple) -> dict:
    """The serve config of one point (choices written at their paths; tied paths derived)."""
    cfg = copy.deepcopy(ss.base)
    values = dict(zip(ss.names, point))
    for path, (src, chips) in ss.tied.items():
        per = values[src]
        if isinstance(per, bool) or not isinstance(per, (int, float)) or per <= 0 or chips % per:
            raise ConfigError(f"{path} = {chips} / {src} = {chips} / {per!r} is not a whole number")
        values[path] = chips // int(per)
    for path, v in values.items():
        node = cfg
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"space: {path!r}: {p} is not a mapping in the serve config")
        node[leaf] = v
    return cfg


def objective_values(res: dict, cost: dict) -> dict:
    """Every :data:`SERVE_OBJECTIVES` value of a max-rate result and its system cost."""
    rate, at = res["max_rate_per_s"], res["at_max_rate"]
    tok = res["output_tokens_per_s"]
    power = at.get("joules_per_token_node", 0.0) * at.get("output_tokens_per_s", 0.0)
    served = tok * cost["utilization"] * cost["lifetime_years"] * 365.25 * 86400
    return {"goodput_per_musd_capex": rate / cost["capex_usd"] * 1e6,
            "good_tokens_per_usd_tco": served / cost["tco_usd"],
            "goodput_per_kw": rate / power * 1e3 if power > 0 else 0.0,
            "tokens_per_s_per_user": 1.0 / at["tpot_mean_s"] if at.get("tpot_mean_s", 0) > 0 else 0.0,
            "tokens_per_s_per_chip": res["output_tokens_per_s_per_chip"]}


def pareto_front(values: np.ndarray) -> np.ndarray:
    """Mask of the non-dominated rows of ``values`` (n, k), every column maximised."""
    v = np.asarray(values, float)
    keep = np.ones(len(v), bool)
    for i in range(len(v)):
        dominated = np.all(v >= v[i], axis=1) & np.any(v > v[i], axis=1)
        keep[i] = not dominated.any()
    return keep


def run_serve_search(cfg, pareto: bool = False, budget=None, seed=None, progress=None, name=None,
                     base_dir: str | None = None) -> dict:
    """Evaluate the search's candidates at their max rate; the best by the objective, or the
    Pareto front of two objectives.

    Returns:
        {config, method ("random" or "grid", gradient-free), objectives, variables,
        evaluations, designs (every candidate: variables, objective values, max rate,
        capex/TCO; best first), infeasible (candidates skipped, with the reason), best
        (optimize) or front (pareto: the non-dominated designs), wall_s}.
    """
    t0 = time.perf_counter()
    ss = parse_serve_search(cfg, base_dir, pareto)
    over = {k: v for k, v in {"budget": budget, "seed": seed}.items() if v is not None}
    if over:
        ss = dataclasses.replace(ss, budget=integer("budget", over.get("budget", ss.budget), COUNT),
                                 seed=integer("seed", over.get("seed", ss.seed), SEED))
    pts = candidates(ss)
    designs, skipped = [], []
    for i, point in enumerate(pts):
        variables = dict(zip(ss.names, point))
        try:
            sc = load_serve_config(apply_point(ss, point))
            setup = build_setup(sc)
            res = max_rate(sc, points=ss.points)
        except ConfigError as e:
            skipped.append({"variables": variables, "reason": str(e)})
            continue
        cost = system_cost(setup)
        vals = objective_values(res, cost)
        designs.append({"variables": variables, "objectives": vals, "max_rate_per_s": res["max_rate_per_s"],
                        "output_tokens_per_s": res["output_tokens_per_s"], "chips": res["chips"], **cost,
                        "bracket_per_s": res["bracket_per_s"]})
        if progress is not None:
            best = max(d["objectives"][ss.objectives[0]] for d in designs)
            el = time.perf_counter() - t0
            progress(Progress(f"serve-{ss.method}", (i + 1) / len(pts) if i + 1 < len(pts) else 0.999, i + 1, len(pts),
                              "designs", best=best, elapsed_s=el, eta_s=el / (i + 1) * (len(pts) - i - 1)))
    o = ss.objectives[0]
    designs.sort(key=lambda d: -d["objectives"][o])
    out = {"config": name, "method": ss.method, "gradient": False,
           "why_gradient_free": "the max rate of a finite simulation is a step function of the design",
           "objectives": {k: SERVE_OBJECTIVES[k] for k in ss.objectives}, "variables": list(ss.names),
           "evaluations": len(pts), "designs": designs, "infeasible": skipped}
    if pareto:
        mask = pareto_front(np.array([[d["objectives"][k] for k in ss.objectives] for d in designs]).reshape(-1, 2))
        out["front"] = [d for d, m in zip(designs, mask) if m]
    else:
        out["best"] = designs[0] if designs else None
    out["feasible"] = bool(designs)
    out["wall_s"] = time.perf_counter() - t0
    if progress is not None:
        progress(Progress(f"serve-{ss.method}", 1.0, len(pts), len(pts), "designs",
                          best=designs[0]["objectives"][o] if designs else math.nan, elapsed_s=out["wall_s"]))
    return out


__all__ = ["KEYS", "SEARCH_METHODS", "SERVE_OBJECTIVES", "ServeSearch", "apply_point", "candidates",
           "is_serve_search", "objective_values", "pareto_front", "parse_serve_search", "run_serve_search"]
