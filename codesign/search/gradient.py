"""Gradient-based co-design search: multi-start projected Adam on an augmented Lagrangian of
the relaxed (smooth, real-valued) problem, relax-and-fix of the integers by beam search,
then repair and exact re-evaluation.

Phases of one run (each variant of the design space — a preset/dtype combination — runs its
own starts; categorical choices are enumerated because each is a different program):

1. ``descend``: S starts (Latin hypercube in the unit box, log scale where it helps) take
   Adam steps together under ``jax.vmap`` (:mod:`~codesign.search.relaxed`) while the smooth
   max/min sharpen from p0 to p1.
2. ``dive`` (one stage per integer variable): in each group of starts the best half (by
   relaxed merit J + κ Σ max(0, g)) branch on their coarsest unfixed integer — the one whose
   two bracketing allowed values are furthest apart in ratio — into floor and ceil; both
   children freeze it and keep descending in the others. The start axis keeps its size,
   so one compiled program serves every stage. (Relax-and-fix; e.g. Wolsey, *Integer
   Programming*, 2nd ed., §12.3.)
3. ``repair``: every start's final point and its one-step integer neighbours are evaluated
   exactly (:mod:`~codesign.search.repair`); after each earlier phase and stage the rounded
   iterates are evaluated exactly too.

Only exactly evaluated feasible designs enter the archive. Evaluations are counted as
performed: one per start per Adam step (``grad_evals``) and one per exact evaluation.

    searcher = gradient(problem, GradientHyper(starts=32), budget=5000)
    result = run(searcher, jax.random.key(0), problem=problem)
"""
from typing import NamedTuple

import jax
import numpy as np

from ..objectives import Problem
from ..objectives.objective import signed_log
from ..specs._pytree import pytree_dataclass, static
from . import archive as arch
from .base import Searcher
from .codec import Codec, make_codec
from .evaluator import exact_batch, metric_plan
from .relaxed import BIG, adam_init, descent_block
from .repair import candidates, pattern_moves
from .scalarize import Scalarization, from_objective


#: Pattern-search steps of continuous variables in unit-box coordinates (alone, and paired
#: with a ±1 move of an integer).
UNIT_STEPS = (1 / 16, 1 / 64, 1 / 256, 1 / 1024, 1 / 4096, 1 / 16384)
PAIR_STEPS = (1 / 256, 1 / 1024, 1 / 4096)


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


class _Run(NamedTuple):  # one variant, S starts in groups of G
    z: jax.Array  # (S, d) unit-box coordinates
    opt: object  # Adam state
    lam: jax.Array  # (S, n_g) multipliers
    rho: jax.Array  # (S,) penalty weights
    best_z: jax.Array  # best smooth-feasible iterate
    best_j: jax.Array
    mask: jax.Array  # (S, d) 1 = free, 0 = fixed
    j: jax.Array  # (S,) relaxed objective at the last block
    g: jax.Array  # (S, n_g) relaxed constraints at the last block


class GradientState(NamedTuple):
    phase: str  # "descend", "dive", "repair", "done"
    block: int  # blocks done in the current phase or stage
    stage: int  # dive stage
    block_seed: int  # seed of the next compiled block's random restarts
    runs: tuple  # one _Run per variant
    best: tuple  # per variant: (x (groups, d), score (groups,), closest x (groups, d), violation (groups,))
    rounds: int  # pattern-search rounds done
    exact: tuple  # per variant: exact scalarised objective of the last checked rows (inf: infeasible)
    archive: arch.Archive
    pool: tuple  # (variant, x (n, d), metrics (n, M)) of every feasible exact design


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


def gradient(problem: Problem, hyper: GradientHyper = GradientHyper(), budget: int | None = None,
             scalarization: Scalarization | None = None) -> Searcher:
    """Build the searcher. ``scalarization`` (rows = groups) defaults to the objective."""
    codec = make_codec(problem.space, hyper.auto_log)
    nv, d, inner = len(problem.space.variants), codec.dim, hyper.inner
    groups = 1 if scalarization is None else scalarization.starts
    pl = plan(hyper, budget, nv, codec, groups)
    S, G = pl.starts, pl.group
    sc = scalarization if scalarization is not None else from_objective(problem, 1)
    w = np.repeat(sc.weights, G, 0).astype(np.float32)
    eps = np.repeat(np.where(np.isfinite(sc.eps), sc.eps, BIG), G, 0).astype(np.float32)
    idx, signs = metric_plan(sc.metrics)
    blocks = [descent_block(problem, v, codec, sc.metrics, inner) for v in range(nv)]
    n_g = len(problem.constraints.names) + len(sc.metrics)
    total_blocks = pl.descend_blocks + pl.stages * pl.stage_blocks

    def init(key):
        rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
        runs, best = [], []
        for v in range(nv):
            z = _latin_hypercube(rng, S, d)
            runs.append(_Run(z, adam_init(z), np.zeros((S, n_g), np.float32), np.full(S, hyper.rho0, np.float32),
                             z, np.full(S, np.inf, np.float32), np.ones((S, d), np.float32),
                             np.zeros(S, np.float32), np.zeros((S, n_g), np.float32)))
            best.append((np.full((groups, d), np.nan), np.full(groups, np.inf), np.full((groups, d), np.nan),
                         np.full(groups, np.inf)))
        phase = "descend" if pl.descend_blocks else "repair"
        return GradientState(phase, 0, 0, int(rng.integers(2 ** 31 - 1)), tuple(runs), tuple(best), 0,
                             tuple(np.full(S, np.inf) for _ in range(nv)), arch.empty(d), ())

    def schedule(state):
        """(learning rates for the next block, sharpness)."""
        if state.phase == "descend":
            n, lr0, frac = pl.descend_blocks, hyper.lr, state.block / max(pl.descend_blocks - 1, 1)
        else:
            n, lr0, frac = pl.stage_blocks, hyper.lr_dive, 1.0
        t = (state.block * inner + np.arange(inner)) / max(n * inner, 1)
        lrs = hyper.lr_final + 0.5 * (lr0 - hyper.lr_final) * (1 + np.cos(np.pi * t))
        return lrs.astype(np.float32), np.float32(hyper.sharpness0 * (hyper.sharpness1 / hyper.sharpness0) ** frac)

    def descend(state):
        lrs, p = schedule(state)
        runs = []
        for v, r in enumerate(state.runs):
            z, opt, lam, best_z, best_j, j, g = blocks[v](
                r.z, r.opt, r.lam, r.rho, w, eps, r.mask, r.best_z, r.best_j, np.int32(state.block_seed + v),
                lrs, np.float32(hyper.margin), p)
            rho = np.minimum(np.asarray(r.rho) * hyper.rho_growth, hyper.rho_max).astype(np.float32)
            runs.append(_Run(z, opt, lam, rho, best_z, best_j, r.mask, j, g))
        a = arch.add_grad_evals(state.archive, nv * S * inner)
        return state._replace(block_seed=(state.block_seed + nv) % (2 ** 31 - 1), runs=tuple(runs), archive=a,
                              block=state.block + 1)

    def check(state, batches):
        """Exactly evaluate [(variant, x (n, d), group (n,))]; update archive, pool, group
        bests, and ``exact`` (per variant: the scalarised exact objective of each row, inf
        where infeasible)."""
        a, pool, best, exact = state.archive, state.pool, list(state.best), []
        for v, xs, grp in batches:
            mat, obj, g, ok = exact_batch(problem, v, xs)
            a = arch.merge(a, v, xs, mat, obj, g, ok)
            pool = pool + ((v, xs[ok], mat[ok]),)
            f = signed_log(mat[:, idx], signs, np)
            score = sc.objective(f)  # (groups, n)
            score = np.where(sc.admissible(f) & ok[None, :] & (grp[None, :] == np.arange(groups)[:, None]), score, np.inf)
            exact.append(score[grp, np.arange(len(xs))])
            viol = np.where(np.isfinite(obj), arch.total_violation(g), np.inf)
            bx, bs, cx, cv = (b.copy() for b in best[v])
            for gi in range(groups):
                c = int(np.argmin(score[gi]))
                if score[gi, c] < bs[gi]:
                    bx[gi], bs[gi] = xs[c], score[gi, c]
                mine = np.where(grp == gi, viol, np.inf)
                c = int(np.argmin(mine))
                if mine[c] < cv[gi]:
                    cx[gi], cv[gi] = xs[c], mine[c]
            best[v] = (bx, bs, cx, cv)
        return state._replace(archive=a, pool=pool, best=tuple(best), exact=tuple(exact))

    def rounded(state):
        grp = np.arange(S) // G
        return [(v, codec.round(codec.decode(np.asarray(r.z, float), np), np), grp) for v, r in enumerate(state.runs)]

    def branch(state):
        """Start a dive stage: the best half of each group branch on their coarsest integer."""
        runs = []
        for v, r in enumerate(state.runs):
            z = np.asarray(r.z, float)
            x = codec.decode(z, np)
            # Relaxed merit, or the exact objective of the rounded iterate where that is feasible.
            merit = np.asarray(r.j) + hyper.merit * np.maximum(np.asarray(r.g), 0.0).sum(-1)
            merit = np.minimum(np.where(np.isfinite(merit), merit, np.inf), state.exact[v])
            mask = np.asarray(r.mask).copy()
            parents = np.concatenate([_select(z[gi * G:(gi + 1) * G], merit[gi * G:(gi + 1) * G], G // 2) + gi * G
                                      for gi in range(groups)])
            chosen = [_coarsest(codec, x[s], mask[s], hyper.coarse) for s in parents]
            if all(i < 0 for i, _ in chosen):  # only fine integers left: keep descending as is
                runs.append(r)
                continue
            children_x, children_mask = [], []
            for s, (i, (lo, hi)) in zip(parents, chosen):
                for val in (lo, hi):
                    cx, cm = x[s].copy(), mask[s].copy()
                    if i >= 0:
                        cx[i], cm[i] = val, 0.0
                    children_x.append(cx), children_mask.append(cm)
            order = np.repeat(parents, 2)
            z = codec.encode(np.array(children_x), np).astype(np.float32)
            pick = lambda a: np.asarray(a)[order]
            rho = np.full(S, hyper.rho_dive, np.float32)  # fresh penalty, kept multipliers: children move
            runs.append(_Run(z, adam_init(z), pick(r.lam), rho, z, np.full(S, np.inf, np.float32),
                             np.array(children_mask, np.float32), pick(r.j), pick(r.g)))
        return state._replace(runs=tuple(runs), block=0)

    def within_budget(state, batches):
        """The batches cut to the evaluations left (in order), so a run never exceeds ``budget``."""
        if budget is None:
            return batches, True
        left = budget - state.archive.evals - state.archive.grad_evals
        out = []
        for v, xs, grp in batches:
            n = max(0, min(len(xs), left))
            if n:
                out.append((v, xs[:n], grp[:n]))
            left -= n
        return out, left > 0

    def repair(state):
        batches = []
        for v, r in enumerate(state.runs):
            x = codec.decode(np.asarray(r.z, float), np)
            xs, owner, _ = candidates(codec, x, hyper.radius, hyper.max_neighbours)
            batches.append((v, xs, owner // G))
        batches, more = within_budget(state, batches)
        return check(state, batches)._replace(phase="polish" if hyper.polish_rounds and more else "done")

    def seeds(state, v):
        """Per group: the best designs found so far (or the least violating)."""
        bx, bs, cx, cv = state.best[v]
        if groups == 1:
            a = state.archive
            mine = a.x[a.variant == v][:hyper.polish_seeds]
            return [mine if len(mine) else (cx[:1] if np.isfinite(cv[0]) else np.zeros((0, d)))]
        return [bx[gi:gi + 1] if np.isfinite(bs[gi]) else (cx[gi:gi + 1] if np.isfinite(cv[gi]) else np.zeros((0, d)))
                for gi in range(groups)]

    def polish(state):
        """One round of pattern search around each group's best designs."""
        before = [(b[1].copy(), b[3].copy()) for b in state.best]
        batches = []
        for v in range(nv):
            rows, grp = [], []
            for gi, sd in enumerate(seeds(state, v)):
                for x0 in sd:
                    m = pattern_moves(codec, x0, unit_steps=UNIT_STEPS, pair_unit_steps=PAIR_STEPS)
                    rows.append(m), grp.append(np.full(len(m), gi))
            if rows:
                batches.append((v, np.concatenate(rows), np.concatenate(grp)))
        batches, more = within_budget(state, batches)
        top = state.archive.objective[:hyper.polish_seeds].copy()
        state = check(state, batches)._replace(rounds=state.rounds + 1)
        after = state.archive.objective[:hyper.polish_seeds]
        improved = (len(after) > len(top) or bool(np.any(after[:len(top)] < top - 1e-12))
                    or any((b[1] < s - 1e-12).any() or (b[3] < c - 1e-12).any() for b, (s, c) in zip(state.best, before)))
        return state._replace(phase="polish" if improved and more and state.rounds < hyper.polish_rounds else "done")

    def step(state):
        if state.phase in ("descend", "dive") and budget is not None and (
                state.archive.evals + state.archive.grad_evals + nv * S * (inner + 1) > budget):
            return state._replace(phase="repair")  # a tiny budget: stop descending, keep what was found
        if state.phase == "descend":
            state = descend(state)
            if state.block < pl.descend_blocks:
                return state
            state = check(state, rounded(state))
            return branch(state._replace(phase="dive")) if pl.stages else state._replace(phase="repair")
        if state.phase == "dive":
            state = descend(state)
            if state.block < pl.stage_blocks:
                return state
            state = check(state, rounded(state))
            if state.stage + 1 < pl.stages:
                return branch(state._replace(stage=state.stage + 1))
            return state._replace(phase="repair")
        if state.phase == "repair":
            return repair(state)
        if state.phase == "polish":
            return polish(state)
        return state

    def fraction(state):
        done = {"descend": state.block, "dive": pl.descend_blocks + state.stage * pl.stage_blocks + state.block,
                "repair": total_blocks, "polish": total_blocks, "done": total_blocks + 1}[state.phase]
        return min(1.0, done / (total_blocks + 1))

    return Searcher("gradient", init, step, lambda s: s.phase == "done", lambda s: s.archive, fraction)


def _select(z, merit, k: int) -> np.ndarray:
    """Indices of the k best rows by merit, preferring distinct points (z to 2 decimals)."""
    order = np.argsort(merit, kind="stable")
    keep, seen = [], set()
    for i in order:
        key = tuple(np.round(z[i], 2))
        if key not in seen:
            seen.add(key)
            keep.append(i)
        if len(keep) == k:
            return np.array(keep, int)
    rest = [i for i in order if i not in keep]
    return np.array(keep + rest[:k - len(keep)], int)


def _coarsest(codec: Codec, x, mask, coarse: float = 0.0):
    """(variable index, (value, value)) of the free integer variable whose branching pair
    is furthest apart in ratio; (-1, ...) if none is left apart by more than ``coarse``."""
    best, out = -1.0, (-1, (np.nan, np.nan))
    for i in range(codec.dim):
        if not codec.integer[i] or mask[i] == 0:
            continue
        lo, hi = sorted(codec.pair(x, i))
        gap = abs(np.log(hi / lo)) if lo > 0 else (hi - lo) / max(abs(hi), 1.0)
        if gap > best and gap > coarse:
            best, out = gap, (i, (lo, hi))
    return out


def _latin_hypercube(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """n points in [0, 1]^d, one per row-stratum of every coordinate (McKay et al. 1979)."""
    perms = np.stack([rng.permutation(n) for _ in range(d)], axis=1)
    return ((perms + rng.random((n, d))) / n).astype(np.float32)


def group_bests(state: GradientState) -> list:
    """Per variant: (x (groups, d), score (groups,)) best exact design of each scalarisation."""
    return list(state.best)


def pool(state: GradientState) -> list:
    """Every feasible exactly evaluated design: [(variant, x (n, d), metrics (n, M))]."""
    return list(state.pool)
