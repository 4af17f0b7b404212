"""The gradient searcher's host phases around the compiled descent: exact checks of rounded
iterates, relax-and-fix branching of the integers (a beam), repair and a pattern-search
polish. Each is a function ``(setup, state) -> state`` (see :mod:`.gradient`).

* ``branch`` (one dive stage per integer variable): in each group of starts the best half
  (by relaxed merit J + κ Σ max(0, g), or the exact objective of the rounded iterate where
  that is feasible) branch on their coarsest unfixed integer — the one whose two bracketing
  allowed values are furthest apart in ratio — into floor and ceil; both children freeze
  it and keep descending in the others. The start axis keeps its size, so one compiled
  program serves every stage. (Relax-and-fix; e.g. Wolsey, *Integer Programming*, 2nd ed.,
  §12.3.)
* ``repair``: every start's final point and its integer neighbours are evaluated exactly
  (:mod:`~codesign.search.repair`).
* ``polish``: rounds of pattern search around each group's best designs until no move
  improves (Hooke & Jeeves 1961).
"""
import jax.numpy as jnp
import numpy as np

from ..objectives.objective import signed_log
from . import archive as arch
from . import descent
from ..space.codec import Codec
from .evaluator import exact_batch
from .repair import candidates, pattern_moves

#: Phases of a run, in order.
DESCEND, DIVE, REPAIR, POLISH, DONE = range(5)
#: Pattern-search steps of continuous variables in unit-box coordinates (alone, and paired
#: with a ±1 move of an integer).
UNIT_STEPS = (1 / 16, 1 / 64, 1 / 256, 1 / 1024, 1 / 4096, 1 / 16384)
PAIR_STEPS = (1 / 256, 1 / 1024, 1 / 4096)


def check(su, state, batches):
    """Exactly evaluate [(variant, x (n, d), group (n,))]; update archive, pool, group
    bests, and ``exact`` (per variant: the scalarised exact objective of each row, inf
    where infeasible)."""
    a, pool, best, exact, groups = state.archive, state.pool, list(state.best), [], su.groups
    for v, xs, grp in batches:
        mat, obj, g, ok = exact_batch(su.problem, v, xs)
        a = arch.merge(a, v, xs, mat, obj, g, ok)
        pool = pool + ((v, xs[ok], mat[ok]),)
        f = signed_log(mat[:, su.idx], su.signs, np)
        score = su.sc.objective(f)  # (groups, n)
        own = grp[None, :] == np.arange(groups)[:, None]  # row belongs to group
        score = np.where(su.sc.admissible(f) & ok[None, :] & own, score, np.inf)
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


def rounded(su, state):
    """Every start's iterate rounded to allowed values, as check batches."""
    grp = np.arange(su.plan.starts) // su.plan.group
    return [(v, su.codec.round(su.codec.decode(np.asarray(r.z, float), np), np), grp) for v, r in enumerate(state.runs)]


def branch(su, state):
    """Start a dive stage: the best half of each group branch on their coarsest integer."""
    S, G, hyper, codec = su.plan.starts, su.plan.group, su.hyper, su.codec
    runs = []
    for v, r in enumerate(state.runs):
        z = np.asarray(r.z, float)
        x = codec.decode(z, np)
        # Relaxed merit, or the exact objective of the rounded iterate where that is feasible.
        merit = np.asarray(r.j) + hyper.merit * np.maximum(np.asarray(r.g), 0.0).sum(-1)
        merit = np.minimum(np.where(np.isfinite(merit), merit, np.inf), state.exact[v])
        mask = np.asarray(r.mask).copy()
        parents = np.concatenate([_select(z[gi * G:(gi + 1) * G], merit[gi * G:(gi + 1) * G], G // 2) + gi * G
                                  for gi in range(su.groups)])
        chosen = [_coarsest(codec, x[s], mask[s], hyper.coarse) for s in parents]
        if all(i < 0 for i, _ in chosen):  # only fine integers left: keep descending as is
            runs.append(r._replace(step=jnp.int32(0), blocks=jnp.int32(su.plan.stage_blocks), dive=jnp.asarray(True)))
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
        rho = jnp.full(S, hyper.rho_dive, jnp.float32)  # fresh penalty, kept multipliers: children move
        new = descent.start(jnp.asarray(z), r.w, r.eps, jnp.asarray(np.asarray(r.lam)[order]), rho,
                            jnp.asarray(np.array(children_mask, np.float32)), su.plan.stage_blocks, True, r.key)
        runs.append(new._replace(j=jnp.asarray(np.asarray(r.j)[order]), g=jnp.asarray(np.asarray(r.g)[order])))
    return state._replace(runs=tuple(runs), block=0)


def within_budget(su, state, batches):
    """The batches cut to the evaluations left (in order), so a run never exceeds ``budget``."""
    if su.budget is None:
        return batches, True
    left = su.budget - state.archive.evals - state.archive.grad_evals
    out = []
    for v, xs, grp in batches:
        n = max(0, min(len(xs), left))
        if n:
            out.append((v, xs[:n], grp[:n]))
        left -= n
    return out, left > 0


def repair(su, state):
    batches = []
    for v, r in enumerate(state.runs):
        x = su.codec.decode(np.asarray(r.z, float), np)
        xs, owner, _ = candidates(su.codec, x, su.hyper.radius, su.hyper.max_neighbours)
        batches.append((v, xs, owner // su.plan.group))
    batches, more = within_budget(su, state, batches)
    return check(su, state, batches)._replace(phase=POLISH if su.hyper.polish_rounds and more else DONE)


def seeds(su, state, v):
    """Per group: the best designs found so far (or the least violating)."""
    bx, bs, cx, cv = state.best[v]
    d = su.codec.dim
    if su.groups == 1:
        a = state.archive
        mine = a.x[a.variant == v][:su.hyper.polish_seeds]
        return [mine if len(mine) else (cx[:1] if np.isfinite(cv[0]) else np.zeros((0, d)))]
    return [bx[gi:gi + 1] if np.isfinite(bs[gi]) else (cx[gi:gi + 1] if np.isfinite(cv[gi]) else np.zeros((0, d)))
            for gi in range(su.groups)]


def polish(su, state):
    """One round of pattern search around each group's best designs."""
    before = [(b[1].copy(), b[3].copy()) for b in state.best]
    batches = []
    for v in range(su.nv):
        rows, grp = [], []
        for gi, sd in enumerate(seeds(su, state, v)):
            for x0 in sd:
                m = pattern_moves(su.codec, x0, unit_steps=UNIT_STEPS, pair_unit_steps=PAIR_STEPS)
                rows.append(m), grp.append(np.full(len(m), gi))
        if rows:
            batches.append((v, np.concatenate(rows), np.concatenate(grp)))
    batches, more = within_budget(su, state, batches)
    k = su.hyper.polish_seeds
    top = state.archive.objective[:k].copy()
    state = check(su, state, batches)._replace(rounds=state.rounds + 1)
    after = state.archive.objective[:k]
    improved = (len(after) > len(top) or bool(np.any(after[:len(top)] < top - 1e-12))
                or any((b[1] < s - 1e-12).any() or (b[3] < c - 1e-12).any() for b, (s, c) in zip(state.best, before)))
    return state._replace(phase=POLISH if improved and more and state.rounds < su.hyper.polish_rounds else DONE)


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


def latin_hypercube(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """n points in [0, 1]^d, one per row-stratum of every coordinate (McKay et al. 1979)."""
    perms = np.stack([rng.permutation(n) for _ in range(d)], axis=1)
    return ((perms + rng.random((n, d))) / n).astype(np.float32)
