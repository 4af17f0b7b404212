"""Pareto dominance over minimisation vectors: exact non-dominated filters on the host and on
the device, and the hypervolume of a front.

Rows are objective vectors to minimise (a metric to maximise enters with its sign flipped,
see :func:`~codesign.objectives.objective.signed_log`). Row p dominates row q iff p <= q in
every column and p < q in one; among exact duplicates the lower index wins, which makes the
filter a strict order: front(A | B) = front(front(A) | front(B)), so fronts of chunks,
devices and shards merge exactly in any order.
"""
import jax
import jax.numpy as jnp
import numpy as np


def nondominated(g, index=None, block: int = 512) -> np.ndarray:
    """Positions of the non-dominated rows of ``g`` (n, m), in (g, index) lexicographic order
    (a canonical order: it does not depend on the order of the input); non-finite rows are
    never kept.

    Ties go to the lower ``index`` (default: the row number). In (g_0, ..., g_m-1, index)
    lexicographic order only earlier rows can dominate, and a row is dominated iff some
    earlier row is <= it everywhere: two columns need one running minimum, more are checked
    in blocks of ``block`` rows against the rows kept so far.
    """
    g = np.asarray(g, float)
    index = np.arange(len(g)) if index is None else np.asarray(index)
    if len(g) == 0:
        return np.zeros(0, np.int64)
    ok = np.all(np.isfinite(g), axis=1)
    cand = np.nonzero(ok)[0]
    g, index = g[cand], index[cand]
    order = np.lexsort((index, *g.T[::-1]))
    gs = g[order]
    if g.shape[1] == 1:
        keep = np.arange(len(gs)) == 0
    elif g.shape[1] == 2:
        before = np.concatenate([[np.inf], np.minimum.accumulate(gs[:, 1])[:-1]])
        keep = gs[:, 1] < before
    else:
        keep = np.zeros(len(gs), bool)
        for lo in range(0, len(gs), block):
            blk = gs[lo:lo + block]
            kept = gs[:lo][keep[:lo]]
            dom = np.zeros(len(blk), bool)
            if len(kept):
                dom = np.all(kept[None, :, :] <= blk[:, None, :], -1).any(1)
            inner = np.all(blk[None, :, :] <= blk[:, None, :], -1)  # [i, j]: row j <= row i
            dom |= np.tril(inner, -1).any(1)
            keep[lo:lo + block] = ~dom
    return cand[order[keep]]


def nondominated_mask(f) -> np.ndarray:
    """Boolean mask of the rows of ``f`` (n, m) that no other row dominates; every copy of a
    non-dominated row is kept (the filter runs on the distinct rows)."""
    f = np.asarray(f, float)
    if len(f) == 0:
        return np.zeros(0, bool)
    uniq, inverse = np.unique(f, axis=0, return_inverse=True)
    keep = np.zeros(len(uniq), bool)
    keep[nondominated(uniq)] = True
    return keep[inverse.ravel()] & np.all(np.isfinite(f), axis=1)


def hypervolume(f, ref) -> float:
    """Volume dominated by the rows of ``f`` (to minimise) and bounded by ``ref``; exact for
    1-3 columns (2-D: a sweep; 3-D: slices along the last column, each a 2-D sweep)."""
    f = np.asarray(f, float)
    ref = np.asarray(ref, float)
    f = f[np.all(f < ref, axis=1)] if len(f) else f
    if len(f) == 0:
        return 0.0
    k = f.shape[1]
    if k == 1:
        return float(ref[0] - f[:, 0].min())
    if k == 2:
        f = f[nondominated(f)]
        f = f[np.argsort(f[:, 0])]
        xs = np.append(f[1:, 0], ref[0])
        return float(np.sum((xs - f[:, 0]) * (ref[1] - f[:, 1])))
    if k == 3:
        f = f[nondominated(f)]
        zs = np.unique(f[:, 2])
        vol = 0.0
        for lo, hi in zip(zs, np.append(zs[1:], ref[2])):
            vol += hypervolume(f[f[:, 2] <= lo][:, :2], ref[:2]) * (hi - lo)
        return float(vol)
    raise ValueError(f"hypervolume: {k} objectives; supported: 1 to 3")


# Device side (jit-able): the same order, on fixed-shape blocks.
def dominated_by(g, pos, piv_g, piv_pos):
    """True where some pivot dominates the row (<= everywhere and < somewhere, or equal with
    a lower position)."""
    le = jnp.all(piv_g[None, :, :] <= g[:, None, :], -1)
    lt = jnp.any(piv_g[None, :, :] < g[:, None, :], -1)
    return jnp.any(le & (lt | (piv_pos[None, :] < pos[:, None])), -1)


def front2_mask(g, mask):
    """Exact non-dominated subset of ``mask`` for two minimised columns (ties to the lower row).

    Sorted by (g0, g1, row), a point is dominated iff an earlier point has g1 <= its g1, i.e.
    iff its g1 is not below the running minimum of the earlier ones.
    """
    n = g.shape[0]
    g = jnp.where(mask[:, None], g, jnp.inf)
    g0, g1, at = jax.lax.sort((g[:, 0], g[:, 1], jnp.arange(n, dtype=jnp.int32)), num_keys=3)
    before = jnp.concatenate([jnp.full(1, jnp.inf, g1.dtype), jax.lax.cummin(g1)[:-1]])
    nd = (g1 < before) & jnp.isfinite(g0)
    return jnp.zeros(n, bool).at[at].set(nd)
