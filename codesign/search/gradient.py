"""Gradient-based co-design search: multi-start projected Adam on an augmented Lagrangian of
the relaxed (smooth, real-valued) problem, relax-and-fix of the integers by beam search,
then repair and exact re-evaluation.

Phases of one run (each variant of the design space — a preset/dtype combination — runs its
own starts; categorical choices are enumerated because each is a different program):

1. ``descend``: S starts (Latin hypercube in the unit box, log scale where it helps) take
   steps of the pure descent algorithm (:mod:`~codesign.search.descent`: ask, value and
   gradient of the augmented Lagrangian, tell), ``inner`` steps per compiled block
   (:func:`~codesign.search.relaxed.descent_block`), while the smooth max/min sharpen.
2. ``dive`` (one stage per integer variable): the best half of each group branch on their
   coarsest unfixed integer into floor and ceil and keep descending in the others
   (relax-and-fix, :func:`~codesign.search.gradient_phases.branch`).
3. ``repair`` and ``polish``: every start's final point and its integer neighbours are
   evaluated exactly, then a pattern search from the best designs; after each earlier phase
   and stage the rounded iterates are evaluated exactly too (:mod:`.gradient_phases`).

The run's constants are one :class:`Setup`; its state is one :class:`GradientState` (an
integer phase, one :class:`~codesign.search.descent.DescentState` per variant, the archive);
each phase is a function ``(setup, state) -> state``. The hyper-parameters in the descent
are traced, so ``jax.vmap`` over e.g. the learning rate runs the algorithm for real.

Only exactly evaluated feasible designs enter the archive. Evaluations are counted as
performed: one per start per Adam step (``grad_evals``) and one per exact evaluation.

    searcher = gradient(problem, GradientHyper(starts=32), budget=5000)
    result = run(searcher, jax.random.key(0), problem=problem)
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..objectives import Problem
from ..specs._pytree import pytree_dataclass, static
from . import archive as arch
from . import descent
from .base import Searcher
from ..space.codec import Codec, make_codec
from .ahead import compile_ahead, compiled
from .evaluator import metric_plan, prefetch_exact
from .gradient_phases import (DESCEND, DIVE, DONE, PAIR_STEPS, POLISH, REPAIR, UNIT_STEPS, branch, check,
                              latin_hypercube as _latin_hypercube, polish, repair, rounded)
from .relaxed import BIG, descent_block
from .scalarize import Scalarization, from_objective


@pytree_dataclass
class GradientHyper:
    """Hyper-parameters (leaves can be vmapped; static fields set shapes)."""

    lr: float = 0.05  # Adam step in unit-box coordinates, cosine-decayed to lr_final
    lr_dive: float = 0.02  # restart of the step at each dive stage
    lr_final: float = 0.002
    rho0: float = 5.0  # initial penalty weight, grown by rho_growth per block up to rho_max
    rho_growth: float = 1.5
    rho_max: float = 1000.0
    rho_dive: float = 5.0  # penalty weight each dive stage restarts from (multipliers are kept)
    margin: float = 1e-3  # constraints are asked to hold with g <= -margin in the relaxation
    sharpness0: float = 8.0  # p-norm sharpness of the smooth max/min, raised geometrically
    sharpness1: float = 64.0  # ... to this by the end of descent (and kept while diving)
    merit: float = 10.0  # κ: weight of violations when ranking starts for the beam
    starts: int = static(32)  # starts per variant (per scalarisation for Pareto groups)
    steps: int = static(200)  # Adam steps per start over all phases when no budget is given
    inner: int = static(10)  # Adam steps per block (multiplier update period)
    min_blocks: int = static(20)  # with a budget, starts are halved until each gets this many blocks
    coarse: float = 0.1  # dive on an integer only while its two candidate values differ by > 10%
    radius: int = static(1)  # integer neighbours checked on each side in repair
    max_neighbours: int = static(8)  # full product up to this size, else one-variable moves
    polish_seeds: int = static(4)  # designs per group the final pattern search starts from
    polish_rounds: int = static(8)  # at most this many rounds of pattern search
    auto_log: bool = static(True)


class Plan(NamedTuple):
    starts: int
    group: int  # starts per scalarisation
    descend_blocks: int
    stages: int
    stage_blocks: int


def _integer_dims(codec: Codec) -> int:
    return int(sum(1 for c, i in zip(codec.choices, codec.integer) if i and (c is None or len(c) > 1)))


def plan(hyper: GradientHyper, budget: int | None, n_variants: int, codec: Codec, groups: int = 1) -> Plan:
    """How many starts and blocks fit ``budget`` evaluations (None: hyper.steps per start).

    Descent gets two shares of the Adam steps and each dive stage one. Starts per group
    are halved (down to 2) while fewer than ``min_blocks`` blocks, or two per share, fit."""
    k, inner = _integer_dims(codec), hyper.inner
    group = max(2, hyper.starts)
    while True:
        s = groups * group
        if budget is None:
            steps = hyper.steps
        else:
            seeds = hyper.polish_seeds if groups == 1 else groups
            c = codec.dim - k
            moves = 8 * k + 2 * len(UNIT_STEPS) * c + 4 * len(PAIR_STEPS) * k * c  # see pattern_moves
            # rounded iterates per phase + final neighbours + about half the pattern-search rounds
            exact = s * (k + 1) + s * min(2 ** k, hyper.max_neighbours) + (hyper.polish_rounds + 1) // 2 * seeds * moves
            steps = int((budget / n_variants - exact) / s)
        blocks = steps // inner
        if budget is None or blocks >= max(2 * (k + 2), hyper.min_blocks) or group <= 2:
            unit = max(1, blocks // (k + 2))
            return Plan(s, group, max(1, blocks - k * unit), k, unit)
        group //= 2


class Setup(NamedTuple):
    """Everything a run fixes up front (host constants)."""

    problem: Problem
    hyper: GradientHyper
    budget: int | None
    codec: Codec
    plan: Plan
    sc: Scalarization  # one row per group (scalarisation)
    w: np.ndarray  # (S, n_f) per start
    eps: np.ndarray  # (S, n_f); BIG = no ε-bound
    idx: np.ndarray  # metric columns of the scalarisation
    signs: np.ndarray

    @property
    def nv(self) -> int:
        return len(self.problem.space.variants)

    @property
    def groups(self) -> int:
        return self.sc.starts


class GradientState(NamedTuple):
    phase: int  # DESCEND, DIVE, REPAIR, POLISH, DONE
    block: int  # blocks done in the current phase or stage
    stage: int  # dive stage
    key: jax.Array  # of the compiled blocks
    blocks_run: int  # blocks dispatched so far (folds into the block keys)
    runs: tuple  # one DescentState per variant
    best: tuple  # per variant: (x (groups, d), score (groups,), closest x (groups, d), violation (groups,))
    rounds: int  # pattern-search rounds done
    exact: tuple  # per variant: exact scalarised objective of the last checked rows (inf: infeasible)
    archive: arch.Archive
    pool: tuple  # (variant, x (n, d), metrics (n, M)) of every feasible exact design


def setup(problem: Problem, hyper: GradientHyper, budget: int | None, scalarization: Scalarization | None) -> Setup:
    codec = make_codec(problem.space, hyper.auto_log)
    groups = 1 if scalarization is None else scalarization.starts
    pl = plan(hyper, budget, len(problem.space.variants), codec, groups)
    sc = scalarization if scalarization is not None else from_objective(problem, 1)
    w = np.repeat(sc.weights, pl.group, 0).astype(np.float32)
    eps = np.repeat(np.where(np.isfinite(sc.eps), sc.eps, BIG), pl.group, 0).astype(np.float32)
    idx, signs = metric_plan(sc.metrics)
    return Setup(problem, hyper, budget, codec, pl, sc, w, eps, idx, signs)


def init(su: Setup, key) -> GradientState:
    """Latin-hypercube starts (host RNG seeded by the key), fresh multipliers."""
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
    S, d, hyper = su.plan.starts, su.codec.dim, su.hyper
    n_g = len(su.problem.constraints.names) + len(su.sc.metrics)
    runs, best = [], []
    for _ in range(su.nv):
        z = _latin_hypercube(rng, S, d)
        runs.append(descent.start(jnp.asarray(z), jnp.asarray(su.w), jnp.asarray(su.eps), jnp.zeros((S, n_g)),
                                  jnp.full(S, hyper.rho0, jnp.float32), jnp.ones((S, d)), su.plan.descend_blocks,
                                  False, key))
        best.append((np.full((su.groups, d), np.nan), np.full(su.groups, np.inf), np.full((su.groups, d), np.nan),
                     np.full(su.groups, np.inf)))
    phase = DESCEND if su.plan.descend_blocks else REPAIR
    block_key = jax.random.key(int(rng.integers(2 ** 31 - 1)))
    for v in range(su.nv):  # every variant's programs compile in parallel while the first runs
        compile_ahead(_block_key(su, v), _block(su, v), runs[v], hyper, block_key)
        prefetch_exact(su.problem, v)
    return GradientState(phase, 0, 0, block_key, 0, tuple(runs), tuple(best), 0,
                         tuple(np.full(S, np.inf) for _ in range(su.nv)), arch.empty(d), ())


def _block(su: Setup, v: int):
    return descent_block(su.problem, v, su.codec, su.sc.metrics, su.hyper.inner, su.plan.starts)


def _block_key(su: Setup, v: int):
    return ("descent", su.problem, v, su.codec, su.sc.metrics, su.hyper.inner, su.plan.starts)


def descend(su: Setup, state: GradientState) -> GradientState:
    """One compiled block of descent for every variant."""
    runs = []
    for v, r in enumerate(state.runs):
        fn = compiled(_block_key(su, v), _block(su, v))
        runs.append(fn(r, su.hyper, jax.random.fold_in(jax.random.fold_in(state.key, v), state.blocks_run)))
    a = arch.add_grad_evals(state.archive, su.nv * su.plan.starts * su.hyper.inner)
    return state._replace(runs=tuple(runs), archive=a, block=state.block + 1, blocks_run=state.blocks_run + 1)


def step(su: Setup, state: GradientState) -> GradientState:
    pl, S, inner = su.plan, su.plan.starts, su.hyper.inner
    if state.phase in (DESCEND, DIVE) and su.budget is not None and (
            state.archive.evals + state.archive.grad_evals + su.nv * S * (inner + 1) > su.budget):
        return state._replace(phase=REPAIR)  # a tiny budget: stop descending, keep what was found
    if state.phase == DESCEND:
        state = descend(su, state)
        if state.block < pl.descend_blocks:
            return state
        state = check(su, state, rounded(su, state))
        return branch(su, state._replace(phase=DIVE)) if pl.stages else state._replace(phase=REPAIR)
    if state.phase == DIVE:
        state = descend(su, state)
        if state.block < pl.stage_blocks:
            return state
        state = check(su, state, rounded(su, state))
        if state.stage + 1 < pl.stages:
            return branch(su, state._replace(stage=state.stage + 1))
        return state._replace(phase=REPAIR)
    if state.phase == REPAIR:
        return repair(su, state)
    if state.phase == POLISH:
        return polish(su, state)
    return state


def fraction(su: Setup, state: GradientState) -> float:
    pl = su.plan
    total = pl.descend_blocks + pl.stages * pl.stage_blocks
    done = {DESCEND: state.block, DIVE: pl.descend_blocks + state.stage * pl.stage_blocks + state.block,
            REPAIR: total, POLISH: total, DONE: total + 1}[state.phase]
    return min(1.0, done / (total + 1))


def gradient(problem: Problem, hyper: GradientHyper = GradientHyper(), budget: int | None = None,
             scalarization: Scalarization | None = None) -> Searcher:
    """Build the searcher. ``scalarization`` (rows = groups) defaults to the objective."""
    su = setup(problem, hyper, budget, scalarization)
    return Searcher("gradient", lambda key: init(su, key), lambda s: step(su, s), lambda s: s.phase == DONE,
                    lambda s: s.archive, lambda s: fraction(su, s))


def group_bests(state: GradientState) -> list:
    """Per variant: (x (groups, d), score (groups,)) best exact design of each scalarisation."""
    return list(state.best)


def pool(state: GradientState) -> list:
    """Every feasible exactly evaluated design: [(variant, x (n, d), metrics (n, M))]."""
    return list(state.pool)
