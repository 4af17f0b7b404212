"""One replica under continuous batching, as a loop over scheduler iterations with fixed
shapes: [N] requests, [S] batch slots. Compiles once per (N, S, policy) and vmaps over
scenarios (requests) and designs (pools).

The slots are kept compact and in arrival-rank order (occupied slots first), so every
priority-ordered rule is a cumulative sum over S entries: FCFS admission of the next
candidates (preempted requests first, then new ones from a pointer into the arrival order),
the token budget, and the choice of preemption victims (latest arrival first). Per-iteration
work is O(S) (the prefix sums and a decode run's per-iteration sums are small matrix
products: one kernel each on XLA:CPU, which splits a ``cumsum`` into several) plus one row
scattered per finished request; nothing scans the N requests.

The loop runs in blocks of :data:`BLOCK` iterations (an inner ``lax.scan``) inside a
``lax.while_loop`` that stops when all work is done or ``max_iterations`` is reached, so
vmapped scenarios pay the while-loop's batch select once per block, not per iteration.
Semantics are those of :class:`~codesign.serving.policy.Policy`;
:mod:`codesign.serving.reference` is the same scheduler written as plain Python.
"""
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from ..model.energy import idle_power_w
from .policy import Policy
from .pool import Pool
from .requests import Requests
from .step import step_cost
from .trace import ITL_BINS, Iterations, Trace, itl_bin

EMPTY, PREFILL, DECODE, PREEMPTED = 0, 1, 2, 3
#: Scan steps per while-loop block.
BLOCK = 32
#: Most pure-decode iterations one scan step runs at once (see :func:`_decode_run`).
RUN = 64
_SLOT_FIELDS = ("rank", "phase", "P", "O", "target", "done", "emit", "kv", "pages", "last", "adm", "first", "npre")


def iteration_bound(requests: Requests, policy: Policy) -> int:
    """A default ``max_iterations`` from concrete requests: every output token in its own
    decode iteration plus every prompt's chunks in their own iterations, + 25% + 64 (an
    upper bound without preemption; preemption adds recompute iterations, and a run that
    runs out says so in ``Trace.exhausted``)."""
    try:
        v = np.asarray(requests.valid) > 0
        out = np.asarray(requests.output_tokens)[v]
        pr = np.asarray(requests.prompt_tokens)[v]
    except jax.errors.TracerArrayConversionError:
        raise ConfigError("max_iterations is required when the requests are traced (inside jit/vmap); "
                          "pass max_iterations = an integer >= 1 (see iteration_bound)") from None
    chunks = np.ceil(pr / policy.token_budget).sum() if policy.kind == "chunked" else pr.size
    return int(1.25 * (out.sum() + chunks)) + 64


def _ceil_div(x, d):
    return jnp.ceil(x / d)


def _tri(n, strict_lower=False):
    i, j = jnp.arange(n)[:, None], jnp.arange(n)[None, :]
    return (i > j) if strict_lower else (i <= j)


def _cumsum(x, dt):
    """Inclusive prefix sum over the last axis as one matrix product (XLA:CPU splits a
    ``cumsum`` into several kernels per call). Exact for the integer-valued counts it is
    used on (tokens, pages, slots: far below 2**24)."""
    x = x.astype(dt)
    return jnp.matmul(x, _tri(x.shape[-1]).astype(dt), precision=jax.lax.Precision.HIGHEST)


def _after(x):
    """Sum of the entries behind each one (exclusive suffix sum), as one matrix product."""
    return jnp.matmul(x, _tri(x.shape[-1], True).astype(x.dtype), precision=jax.lax.Precision.HIGHEST)


def _while_all(ok, dt):
    """Running AND (``cumprod`` of a mask) as one prefix count of the failures."""
    return _cumsum(~ok, dt) == 0


def _preempt(s, dec, free, page, none):
    """Evict the latest-arrived holders of KV until the decoders' new pages fit; returns the
    slots and each decoder's page need."""
    need = jnp.where(dec & ~none, jnp.maximum(_ceil_div(s["kv"] + 1.0, page) - s["pages"], 0.0), 0.0)
    deficit = need.sum() - free
    holder = (s["phase"] == PREFILL) | (s["phase"] == DECODE)
    relief = jnp.where(holder, s["pages"] + need, 0.0)
    after = _after(relief)  # relief of the holders behind each slot
    victim = holder & (after < deficit)
    s = dict(s)
    s["phase"] = jnp.where(victim, PREEMPTED, s["phase"])
    s["target"] = jnp.where(victim, s["P"] + s["emit"], s["target"])
    for k in ("done", "kv", "pages"):
        s[k] = jnp.where(victim, 0.0, s[k])
    s["npre"] = s["npre"] + victim
    return s, jnp.where(victim, 0.0, need)


def _admit(s, c, t, free, budget, policy: Policy):
    """FCFS admission of preempted slots then the next arrivals; returns (slots, pointer,
    fresh-slot mask, prefill chunk per slot for the admitted)."""
    S, page = policy.max_slots, c["page"]
    n_occ = (s["phase"] != EMPTY).sum()
    pre = s["phase"] == PREEMPTED
    p_tok = jnp.where(pre, s["target"], 0.0)
    p_pages = _ceil_div(p_tok, page)
    ptr = c["ptr"]
    win = {k: jax.lax.dynamic_slice_in_dim(c[k], ptr, S) for k in ("arr", "P", "O", "last0", "pre")}
    w_ok = ptr + jnp.arange(S) < c["M"]
    w_pre = win["pre"] > 0
    w_tok = jnp.where(w_pre, 0.0, win["P"])
    w_kv = jnp.where(c["none"], win["P"] + win["O"] - 1.0, win["P"])
    w_pages = _ceil_div(w_kv, page)
    real = jnp.concatenate([pre, w_ok])
    tok = jnp.where(real, jnp.concatenate([p_tok, w_tok]), 0.0)
    pages = jnp.where(real, jnp.concatenate([p_pages, w_pages]), 0.0)
    cum_tok = _cumsum(tok, tok.dtype)
    excl_tok = cum_tok - tok
    ok = ((_cumsum(pages, tok.dtype) <= free)
          & (_cumsum(jnp.concatenate([jnp.zeros(S), w_ok.astype(tok.dtype)]), tok.dtype) <= S - n_occ)
          & jnp.concatenate([jnp.ones(S, bool), win["arr"] <= t]))
    if policy.kind == "fcfs":
        ok &= (cum_tok <= budget) | (excl_tok == 0)
    else:
        ok &= (budget - excl_tok > 0) | (tok == 0)
    adm = _while_all(ok | ~real, tok.dtype) & real
    chunk = jnp.clip(budget - excl_tok, 0.0, tok) if policy.kind == "chunked" else tok
    s = dict(s)
    p_adm = adm[:S]
    s["phase"] = jnp.where(p_adm, PREFILL, s["phase"])
    s["pages"] = jnp.where(p_adm, p_pages, s["pages"])
    a = adm[S:].sum().astype(jnp.int32)
    j = jnp.arange(S)
    fresh = (j >= n_occ) & (j < n_occ + a)
    k = jnp.clip(j - n_occ, 0, S - 1)
    g = lambda x: x[k]
    newv = {"rank": (ptr + k).astype(jnp.int32), "P": g(win["P"]), "O": g(win["O"]), "adm": jnp.full((S,), t),
            "first": jnp.full((S,), jnp.inf), "npre": jnp.zeros((S,)), "done": jnp.zeros((S,)),
            "pages": g(w_pages)}
    pre_k = g(w_pre)
    newv.update(phase=jnp.where(pre_k, DECODE, PREFILL), target=jnp.where(pre_k, 0.0, g(win["P"])),
                emit=jnp.where(pre_k, 1.0, 0.0), kv=jnp.where(pre_k, g(win["P"]), 0.0),
                last=jnp.where(pre_k, g(win["last0"]), t))
    for key, v in newv.items():
        s[key] = jnp.where(fresh, v.astype(s[key].dtype), s[key])
    slot_chunk = jnp.where(p_adm, chunk[:S], 0.0) + jnp.where(fresh, g(chunk[S:]), 0.0)
    return s, ptr + a, fresh, slot_chunk


def _compact(s, sentinel):
    keep = s["phase"] != EMPTY
    S = keep.shape[0]
    pos = _cumsum(keep, s["done"].dtype).astype(jnp.int32) - 1
    src = jnp.zeros((S,), jnp.int32).at[jnp.where(keep, pos, S)].set(jnp.arange(S, dtype=jnp.int32), mode="drop")
    live = jnp.arange(S) < keep.sum()
    out = {k: v[src] for k, v in s.items()}
    out["phase"] = jnp.where(live, out["phase"], EMPTY)
    out["pages"] = jnp.where(live, out["pages"], 0.0)
    out["rank"] = jnp.where(live, out["rank"], sentinel)
    return out


def _rows(s):
    """Per-slot output rows: admitted, first token, finish (filled by the caller), preemptions, tokens."""
    return jnp.stack([s["adm"], s["first"], jnp.full_like(s["adm"], jnp.inf), s["npre"], s["emit"]], axis=1)


def _event(carry, c, policy: Policy):
    """One full scheduler iteration, up to its duration: admission, preemption, the batch's
    tokens and every slot's progress. Returns the carry (slots advanced and compacted; the
    times of this iteration's tokens are filled in by :func:`_finish_event`) and what that
    needs (the batch's tokens, sequences and mean context for the cost model)."""
    s, t, ptr = carry["s"], carry["t"], carry["ptr"]
    S, page, B = policy.max_slots, c["page"], c["budget"]
    occ = s["phase"] != EMPTY
    head = c["arr"][ptr]
    t = jnp.where(~occ.any() & (ptr < c["M"]), jnp.maximum(t, head), t)
    c = dict(c, ptr=ptr)
    free = lambda s: c["pages"] - s["pages"].sum()
    if policy.kind == "chunked":
        s, need = _preempt(s, s["phase"] == DECODE, free(s), page, c["none"])
        dec = s["phase"] == DECODE
        pf = s["phase"] == PREFILL
        rem = jnp.where(pf, s["target"] - s["done"], 0.0)
        left = B - dec.sum()
        ongoing = jnp.clip(left - (_cumsum(rem, rem.dtype) - rem), 0.0, rem)
        s, ptr, fresh, chunk_new = _admit(s, c, t, free(s) - need.sum(), left - ongoing.sum(), policy)
        chunk = ongoing + chunk_new
    else:
        s, ptr, fresh, _ = _admit(s, c, t, free(s), B, policy)
        pf = s["phase"] == PREFILL
        prefill_iter = pf.any()
        chunk = jnp.where(pf, s["target"] - s["done"], 0.0)
        s, need = _preempt(s, (s["phase"] == DECODE) & ~fresh & ~prefill_iter, free(s), page, c["none"])
        dec = (s["phase"] == DECODE) & ~fresh & ~prefill_iter
    tok = chunk + dec
    ctx = jnp.where(dec, s["kv"] + 1.0, s["done"] + 0.5 * chunk)
    active = tok > 0
    n = active.sum().astype(t.dtype)
    cbar = jnp.where(active, ctx, 0.0).sum() / jnp.maximum(n, 1.0)

    s = dict(s)
    done = s["done"] + chunk
    complete = (chunk > 0) & (done >= s["target"])
    emits = complete | dec
    first_now = emits & (s["emit"] == 0.0)
    ev = {"T": tok.sum(), "n": n, "cbar": cbar, "t": t, "last": s["last"], "itl": emits & (s["emit"] >= 1.0),
          "prefill_tokens": chunk.sum(), "decode_tokens": dec.sum().astype(t.dtype)}
    s["done"] = done
    s["emit"] = s["emit"] + emits
    s["kv"] = jnp.where(complete, s["target"], s["kv"] + dec)
    s["phase"] = jnp.where(complete, DECODE, s["phase"])
    s["pages"] = s["pages"] + need * dec
    ev["used"] = s["pages"].sum()
    finished = emits & (s["emit"] >= s["O"])
    ev.update(rows=_rows(s), rows_first=first_now, rows_at=jnp.where(finished, s["rank"], c["N"]))
    s["phase"] = jnp.where(finished, EMPTY, s["phase"])
    s["pages"] = jnp.where(finished, 0.0, s["pages"])
    ev.update(emits=emits, first_now=first_now)
    return dict(carry, s=s, t=t, ptr=ptr), ev


def _finish_event(carry, ev, dur, energy):
    """Stamp the event iteration's tokens and finishes with its end time."""
    t_end = ev["t"] + dur
    rows = ev["rows"].at[:, 2].set(t_end)
    ev["rows"] = rows.at[:, 1].set(jnp.where(ev["rows_first"], t_end, rows[:, 1]))
    s = dict(carry["s"])
    s["last"] = jnp.where(ev["emits"], t_end, s["last"])
    s["first"] = jnp.where(ev["first_now"], t_end, s["first"])
    gap, itl = t_end - ev["last"], ev["itl"]
    ev["hist_at"], ev["hist_gap_s"] = jnp.where(itl, itl_bin(gap), ITL_BINS), gap
    acc = carry["acc"] + jnp.stack([dur, ev["used"] * dur, energy, (dur > 0).astype(dur.dtype),
                                    jnp.where(itl, gap, 0.0).sum(), itl.sum().astype(dur.dtype)])
    new = dict(carry, s=s, t=t_end, acc=acc, peak=jnp.maximum(carry["peak"], ev["used"]))
    n = ev["n"]
    rec = Iterations(time_s=t_end, duration_s=dur, batch=n, prefill_tokens=ev["prefill_tokens"],
                     decode_tokens=ev["decode_tokens"], kv_used_pages=ev["used"], energy_j=energy,
                     active=(n > 0).astype(dur.dtype), steps=(n > 0).astype(dur.dtype))
    return new, rec


def _run_plan(carry, c):
    """Features of the next :data:`RUN` iterations if each were a pure decode step of the
    running sequences (see :func:`_decode_run`): per iteration the sequences, their mean
    context, and per slot the tokens still to emit."""
    s = carry["s"]
    dt = carry["t"].dtype
    dec = s["phase"] == DECODE
    rem = jnp.where(dec, s["O"] - s["emit"], 0.0)
    i = jnp.arange(RUN, dtype=dt)[:, None]
    act = rem[None, :] > i  # [K, S]: decoder j runs iteration i
    final = jnp.where(dec, jnp.maximum(s["pages"], _ceil_div(s["kv"] + rem, c["page"])), 0.0)
    # every per-iteration sum over the running slots as one product (integer-valued: exact)
    per = jnp.stack([jnp.ones_like(rem), s["kv"] + 1.0, s["pages"], final], axis=1)
    sums = jnp.matmul(act.astype(dt), per, precision=jax.lax.Precision.HIGHEST)
    n_i = sums[:, 0]
    kv_i = s["kv"][None, :] + 1.0 + i  # context of iteration i's token (KV after growth)
    cbar = (sums[:, 1] + n_i * i[:, 0]) / jnp.maximum(n_i, 1.0)
    return {"dec": dec, "rem": rem, "i": i, "act": act, "n": n_i, "kv": kv_i, "cbar": cbar,
            "pages_run": sums[:, 2], "final_run": sums[:, 3], "final": final}


def _decode_run(carry, c, plan, D, E, ev, policy: Policy):
    """Up to :data:`RUN` pure-decode iterations at once: while no slot is prefilling or
    preempted, no waiting request could be admitted (it has not arrived, or no slot is free,
    or its pages exceed even the free pages plus those of the requests finishing first), and
    the decoders' new pages fit in the free ones, every iteration is one decode token for
    each running sequence, so their durations ``D`` come from one vectorized cost-model
    call and the per-slot state advances in one step. Requests that finish inside the run
    are retired at their own iteration's end. Exactly the iterations :func:`_event` would
    run one by one."""
    s, t = carry["s"], carry["t"]
    dt = t.dtype
    S, page = policy.max_slots, c["page"]
    dec, rem, i, act, n_i, kv_i = (plan[k] for k in ("dec", "rem", "i", "act", "n", "kv"))
    occ = s["phase"] != EMPTY
    clean = ~((s["phase"] == PREFILL) | (s["phase"] == PREEMPTED)).any()
    end = t + jnp.cumsum(D)
    start = end - D
    used_i = jnp.where(act, jnp.maximum(s["pages"][None, :], _ceil_div(kv_i, page)), 0.0).sum(1)
    extra = used_i - plan["pages_run"]
    # decoders finished before iteration i: their count and final pages
    gone_n, gone_pages = dec.sum() - n_i, plan["final"].sum() - plan["final_run"]
    free0 = c["pages"] - s["pages"].sum()
    ptr = carry["ptr"]
    head_kv = jnp.where(c["none"], c["P"][ptr] + c["O"][ptr] - 1.0, c["P"][ptr])
    could = ((ptr < c["M"]) & (c["arr"][ptr] <= start)
             & (S - occ.sum() + gone_n > 0)
             & (_ceil_div(head_kv, page) <= free0 + gone_pages))
    ok = clean & (n_i > 0) & ~could & (extra <= free0)
    k = _while_all(ok, dt).sum()
    ran = jnp.arange(RUN) < k
    m = jnp.where(dec, jnp.minimum(rem, k.astype(dt)), 0.0)  # iterations each slot ran
    mi = jnp.clip(m.astype(jnp.int32) - 1, 0, RUN - 1)
    s = dict(s)
    moved = m > 0
    gap0 = end[0] - s["last"]
    s["emit"] = s["emit"] + m
    s["kv"] = s["kv"] + m
    s["pages"] = jnp.where(moved, jnp.maximum(s["pages"], _ceil_div(s["kv"], page)), s["pages"])
    s["last"] = jnp.where(moved, end[mi], s["last"])
    finished = moved & (s["emit"] >= s["O"])
    # one scatter for the requests that finished in the event iteration or in the run
    rows = jnp.where(finished[:, None], _rows(s).at[:, 2].set(end[mi]), ev["rows"])
    at = jnp.where(finished, s["rank"], ev["rows_at"])
    out = carry["out"].at[at].set(rows, mode="drop")
    s["phase"] = jnp.where(finished, EMPTY, s["phase"])
    s = _compact(s, c["N"])
    later = ran & (jnp.arange(RUN) > 0)
    # one histogram update: the event iteration's gaps, the run's first gaps, its later ones
    h_at = jnp.concatenate([ev["hist_at"], jnp.where(moved, itl_bin(gap0), ITL_BINS),
                            jnp.where(later, itl_bin(D), ITL_BINS)])
    h_w = jnp.concatenate([jnp.ones((2 * S,), dt), n_i])
    hist = carry["hist"].at[h_at].add(h_w, mode="drop")
    Dk, nk = jnp.where(ran, D, 0.0), jnp.where(ran, n_i, 0.0)
    acc = carry["acc"] + jnp.stack([
        Dk.sum(), (used_i * Dk).sum(), jnp.where(ran, E, 0.0).sum(), (ran & (D > 0)).sum().astype(dt),
        jnp.where(moved, gap0, 0.0).sum() + jnp.where(later, n_i * D, 0.0).sum(), nk.sum()])
    t_new = jnp.where(k > 0, end[jnp.maximum(k - 1, 0)], t)
    peak = jnp.maximum(carry["peak"], jnp.where(ran, used_i, 0.0).max())
    new = dict(carry, s=s, t=t_new, out=out, hist=hist, acc=acc, peak=peak)
    kf = k.astype(dt)
    rec = Iterations(time_s=t_new, duration_s=Dk.sum(), batch=n_i[0] * (k > 0), prefill_tokens=0.0 * kf,
                     decode_tokens=nk.sum(), kv_used_pages=used_i[jnp.maximum(k - 1, 0)] * (k > 0),
                     energy_j=jnp.where(ran, E, 0.0).sum(), active=(k > 0).astype(dt), steps=kf)
    return new, rec


def _step(carry, c, pool: Pool, policy: Policy):
    """One scan step: one full scheduler iteration, then a run of pure-decode iterations,
    with the durations of all of them from one vectorized cost-model call."""
    carry, ev = _event(carry, c, policy)
    plan = _run_plan(carry, c)
    T = jnp.concatenate([ev["T"][None], plan["n"]])
    n = jnp.concatenate([ev["n"][None], plan["n"]])
    cbar = jnp.concatenate([ev["cbar"][None], plan["cbar"]])
    # computed once: otherwise XLA repeats the cost model inside each consumer's fusion
    D, E = jax.lax.optimization_barrier(step_cost(pool, T, n, cbar))
    carry, first = _finish_event(carry, ev, D[0], E[0])
    carry, run = _decode_run(carry, c, plan, D[1:], E[1:], ev, policy)
    return carry, jax.tree.map(lambda a, b: jnp.stack([a, b]), first, run)


def simulate(requests: Requests, pool: Pool, policy: Policy, max_iterations: int | None = None,
             record_iterations: bool = True, prefilled=None, last_token_s=None) -> Trace:
    """Simulate one replica of ``pool`` serving ``requests`` under ``policy``.

    Args:
        max_iterations: scheduler iterations to allow (static; default
            :func:`iteration_bound` of concrete requests). The loop stops early when all
            work is done; a run that runs out reports ``exhausted`` = 1.
        record_iterations: keep the per-iteration series (static; turn off for large
            vmapped batches to save memory: accumulators are kept either way).
        prefilled: per request, 1.0 when it arrives with its prompt already in KV and its
            first token emitted (a decode pool behind a prefill pool; default none): it is
            admitted with its prompt's pages and decodes its remaining tokens.
        last_token_s: per prefilled request, when its first token was emitted (for the
            inter-token latency of its second token; default its arrival).

    Pure in (requests, pool); jit/vmap-safe with ``policy`` and ``max_iterations`` static.
    One compiled program per (policy, max_iterations, record_iterations, shapes, dtype) is
    cached and shared by every caller (a disaggregated run reuses its pools' programs).
    """
    if max_iterations is None:
        max_iterations = iteration_bound(requests, policy)
    if isinstance(max_iterations, bool) or int(max_iterations) < 1:
        raise ConfigError(f"max_iterations = {max_iterations!r}; must be an integer >= 1")
    dt = jnp.result_type(float)
    r = jax.tree.map(lambda x: jnp.asarray(x, dt), requests)
    pre = jnp.zeros_like(r.arrival_s) if prefilled is None else jnp.asarray(prefilled, dt)
    last0 = r.arrival_s if last_token_s is None else jnp.asarray(last_token_s, dt)
    knobs = jnp.array([policy.token_budget, policy.page_tokens, policy.preempt == "none"], dt)
    # Budget, page size and preemption mode are data: one program serves them all.
    shape = Policy(policy.kind, policy.max_slots, token_budget=policy.max_slots, page_tokens=1)
    return _simulate(r, pool, pre, last0, knobs, shape, int(max_iterations), bool(record_iterations))


@partial(jax.jit, static_argnums=(5, 6, 7))
def _simulate(r: Requests, pool: Pool, pre, last0, knobs, policy: Policy, max_iterations: int,
              record_iterations: bool) -> Trace:
    S, N = policy.max_slots, r.n
    dt = r.arrival_s.dtype
    budget, page, none = knobs[0], knobs[1], knobs[2] > 0
    total_pages = jnp.floor(jnp.asarray(pool.kv_capacity_tokens, dt) / page)
    kv_max = r.prompt_tokens + r.output_tokens - 1.0
    fits = (r.valid > 0) & (jnp.ceil(kv_max / page) <= total_pages)
    idx = jnp.arange(N)
    order = jnp.lexsort((idx, jnp.where(fits, r.arrival_s, jnp.inf), ~fits))
    pad = lambda x, v: jnp.concatenate([x[order], jnp.full((S + 1,), v, dt)])
    c = {"arr": pad(r.arrival_s, jnp.inf), "P": pad(r.prompt_tokens, 1.0), "O": pad(r.output_tokens, 1.0),
         "last0": pad(last0, 0.0), "pre": pad(pre, 0.0), "M": fits.sum(), "N": N, "pages": total_pages,
         "budget": budget, "page": page, "none": none}
    zeros = jnp.zeros((S,), dt)
    s = {k: zeros for k in _SLOT_FIELDS}
    s.update(rank=jnp.full((S,), N, jnp.int32), phase=jnp.zeros((S,), jnp.int32), O=jnp.ones((S,), dt),
             first=jnp.full((S,), jnp.inf, dt))
    init_row = jnp.array([jnp.inf, jnp.inf, jnp.inf, 0.0, 0.0], dt)
    n_blocks = math.ceil(int(max_iterations) / BLOCK)
    carry = {"s": s, "t": jnp.zeros((), dt), "ptr": jnp.zeros((), jnp.int32),
             "out": jnp.tile(init_row, (N, 1)), "hist": jnp.zeros((ITL_BINS,), dt),
             "acc": jnp.zeros((6,), dt), "peak": jnp.zeros((), dt)}
    step = lambda cr, _: _step(cr, c, pool, policy)

    def block(state):
        b, cr, recs = state
        cr, rec = jax.lax.scan(step, cr, None, length=BLOCK)
        if record_iterations:
            recs = jax.tree.map(lambda a, x: a.at[b].set(x), recs, rec)
        return b + 1, cr, recs

    def more(state):
        b, cr, _ = state
        return (b < n_blocks) & (((cr["s"]["phase"] != EMPTY).any()) | (cr["ptr"] < c["M"]))

    recs = None
    if record_iterations:
        recs = Iterations(*[jnp.zeros((n_blocks, BLOCK, 2), dt) for _ in range(9)])
    _, carry, recs = jax.lax.while_loop(more, block, (jnp.zeros((), jnp.int32), carry, recs))
    s = carry["s"]
    left = (s["phase"] != EMPTY).any() | (carry["ptr"] < c["M"])
    out = carry["out"].at[jnp.where(s["phase"] != EMPTY, s["rank"], N)].set(_rows(s), mode="drop")
    by_req = jnp.zeros_like(out).at[order].set(out)
    if recs is not None:
        recs = jax.tree.map(lambda a: a.reshape(-1)[: 2 * int(max_iterations)], recs)
    acc = carry["acc"]
    chips = pool.chips
    chip_w = chips * pool.chip.static_power_w
    node_w = idle_power_w(pool.chip, pool.system, chips, chips / pool.system.chips_per_node)
    never = jnp.where((r.valid > 0) & ~fits, 1.0, 0.0)
    return Trace(admitted_s=by_req[:, 0], first_token_s=by_req[:, 1], finish_s=by_req[:, 2],
                 preemptions=by_req[:, 3], tokens=by_req[:, 4], never_fit=never, kv_pages=total_pages,
                 iterations_run=acc[3], exhausted=left.astype(dt), never_fit_count=never.sum(),
                 busy_s=acc[0], kv_page_s=acc[1], kv_peak_pages=carry["peak"], energy_dynamic_j=acc[2],
                 static_power_chip_w=jnp.asarray(chip_w, dt), static_power_node_w=jnp.asarray(node_w, dt),
                 itl_hist=carry["hist"], itl_sum_s=acc[4], itl_count=acc[5], iterations=recs)


__all__ = ["BLOCK", "iteration_bound", "simulate"]
