"""The scheduler of :mod:`codesign.serving.scheduler` written as a plain-Python discrete-event
loop over lists: the reference the JAX simulator is tested against (per-request timestamps
equal to float round-off) and timed against in ``benchmarks/bench_serving.py``.

Same policies (fcfs with prefill priority, chunked token budget, recompute preemption of
the latest arrival, ``preempt="none"`` reservation), same iteration cost (the one adapter,
:func:`codesign.serving.step.step_cost`, compiled once per pool and called with Python
floats, memoized on its arguments), same disaggregation (prefill pool, KV transfer, decode
pool) and routers. Written for clarity, not speed: one Python object per request.
"""
import math

import jax
import numpy as np

from .disaggregated import kv_transfer_s
from .policy import Policy
from .pool import Pool
from .step import step_cost

EMPTY, PREFILL, DECODE, PREEMPTED = "empty", "prefill", "decode", "preempted"


class _Req:
    __slots__ = ("i", "rank", "arr", "P", "O", "pre", "last0", "phase", "target", "done", "emit", "kv",
                 "pages", "last", "adm", "first", "finish", "npre")

    def __init__(self, i, arr, P, O, pre, last0):
        self.i, self.arr, self.P, self.O, self.pre, self.last0 = i, arr, P, O, pre, last0
        self.phase, self.target, self.done, self.emit, self.kv, self.pages = EMPTY, 0.0, 0.0, 0.0, 0.0, 0.0
        self.last, self.adm, self.first, self.finish, self.npre = 0.0, math.inf, math.inf, math.inf, 0


_step_jit = jax.jit(step_cost)


def step_fn(pool: Pool):
    """``(tokens, seqs, context) -> (seconds, joules)`` on Python floats for one pool
    (one compilation per pool structure and precision; memoized on the arguments)."""
    cache = {}

    def call(T, n, c):
        key = (T, n, c)
        if key not in cache:
            d, e = _step_jit(pool, T, n, c)
            cache[key] = (float(d), float(e))
        return cache[key]

    return call


def run(arrival_s, prompt_tokens, output_tokens, valid, pool: Pool, policy: Policy, prefilled=None,
        last_token_s=None, step=None, max_iterations=None) -> dict:
    """Simulate one replica; returns ``{"admitted_s", "first_token_s", "finish_s",
    "preemptions", "tokens", "never_fit"}`` (numpy arrays in the requests' order) and
    ``"iterations"`` (count of iterations that ran)."""
    step = step or step_fn(pool)
    S, B, page = policy.max_slots, float(policy.token_budget), float(policy.page_tokens)
    none = policy.preempt == "none"
    total = math.floor(float(pool.kv_capacity_tokens) / page)
    n = len(arrival_s)
    pre = np.zeros(n) if prefilled is None else np.asarray(prefilled, float)
    last0 = np.asarray(arrival_s, float) if last_token_s is None else np.asarray(last_token_s, float)
    reqs = [_Req(i, float(arrival_s[i]), float(prompt_tokens[i]), float(output_tokens[i]), pre[i] > 0,
                 float(last0[i])) for i in range(n)]
    ok = [r for r in reqs if valid[r.i] > 0 and math.ceil((r.P + r.O - 1.0) / page) <= total]
    fit = {r.i for r in ok}
    never = [1.0 if valid[r.i] > 0 and r.i not in fit else 0.0 for r in reqs]
    queue = sorted(ok, key=lambda r: (r.arr, r.i))
    for k, r in enumerate(queue):
        r.rank = k
    ptr, t, slots, iters = 0, 0.0, [], 0

    def preempt(decoders, free):
        need = {id(r): (0.0 if none else max(math.ceil((r.kv + 1.0) / page) - r.pages, 0.0)) for r in decoders}
        deficit = sum(need.values()) - free
        for r in reversed(slots):
            if deficit <= 0:
                break
            if r.phase in (PREFILL, DECODE):
                deficit -= r.pages + need.get(id(r), 0.0)
                r.phase, r.target, r.done, r.kv, r.pages = PREEMPTED, r.P + r.emit, 0.0, 0.0, 0.0
                r.npre += 1
                need[id(r)] = 0.0
        return need

    def admit(free, budget):
        nonlocal ptr
        chunks, fresh = {}, set()
        used_pages = used_tok = 0.0
        free_slots = S - len(slots)
        cands = [r for r in slots if r.phase == PREEMPTED] + queue[ptr:ptr + S]
        for r in cands:
            new = r.phase == EMPTY
            if new and r.arr > t:
                break
            tok = (0.0 if r.pre else r.P) if new else r.target
            pages = math.ceil(((r.P + r.O - 1.0) if (new and none) else (r.P if new else r.target)) / page)
            if used_pages + pages > free or (new and free_slots < 1):
                break
            if policy.kind == "fcfs" and not (used_tok + tok <= budget or used_tok == 0):
                break
            if policy.kind == "chunked" and not (budget - used_tok > 0 or tok == 0):
                break
            chunks[id(r)] = min(tok, max(budget - used_tok, 0.0)) if policy.kind == "chunked" else tok
            used_pages += pages
            used_tok += tok
            r.pages = pages
            if new:
                free_slots -= 1
                ptr += 1
                fresh.add(id(r))
                slots.append(r)
                r.adm = t
                if r.pre:
                    r.phase, r.target, r.emit, r.kv, r.last = DECODE, 0.0, 1.0, r.P, r.last0
                else:
                    r.phase, r.target, r.emit, r.kv, r.last = PREFILL, r.P, 0.0, 0.0, t
            else:
                r.phase = PREFILL
        return chunks, fresh

    while slots or ptr < len(queue):
        if max_iterations is not None and iters >= max_iterations:
            break
        if not slots:
            t = max(t, queue[ptr].arr)
        free = lambda: total - sum(r.pages for r in slots)
        if policy.kind == "chunked":
            need = preempt([r for r in slots if r.phase == DECODE], free())
            decoders = [r for r in slots if r.phase == DECODE]
            left = B - len(decoders)
            chunks = {}
            for r in slots:
                if r.phase == PREFILL:
                    c = min(r.target - r.done, max(left, 0.0))
                    chunks[id(r)] = c
                    left -= c
            more, _ = admit(free() - sum(need.values()), left)  # decode growth comes first
            chunks.update(more)
        else:
            _, fresh = admit(free(), B)
            prefilling = [r for r in slots if r.phase == PREFILL]
            if prefilling:
                chunks, decoders, need = {id(r): r.target - r.done for r in prefilling}, [], {}
            else:
                need = preempt([r for r in slots if r.phase == DECODE and id(r) not in fresh], free())
                decoders = [r for r in slots if r.phase == DECODE and id(r) not in fresh]
                chunks = {}
        dset = {id(r) for r in decoders}
        toks, ctxs = [], []
        for r in slots:
            c = chunks.get(id(r), 0.0)
            d = 1.0 if id(r) in dset else 0.0
            if c + d > 0:
                toks.append(c + d)
                ctxs.append(r.kv + 1.0 if d else r.done + 0.5 * c)
        nseq = float(len(toks))
        dur, _ = step(sum(toks), nseq, sum(ctxs) / max(nseq, 1.0)) if toks else (0.0, 0.0)
        iters += dur > 0
        t_end = t + dur
        for r in list(slots):
            c = chunks.get(id(r), 0.0)
            complete = c > 0 and r.done + c >= r.target
            r.done += c
            if complete or id(r) in dset:
                if r.emit == 0:
                    r.first = t_end
                r.emit += 1.0
                r.last = t_end
                if complete:
                    r.kv, r.phase = r.target, DECODE
                else:
                    r.kv += 1.0
                    r.pages += need.get(id(r), 0.0)
                if r.emit >= r.O:
                    r.finish = t_end
                    r.phase = EMPTY
                    slots.remove(r)
        t = t_end
    out = {k: np.array([getattr(r, a) for r in reqs], float) for k, a in
           (("admitted_s", "adm"), ("first_token_s", "first"), ("finish_s", "finish"), ("preemptions", "npre"),
            ("tokens", "emit"))}
    out["never_fit"] = np.array(never)
    out["iterations"] = iters
    return out


def run_disaggregated(arrival_s, prompt_tokens, output_tokens, valid, prefill_pool: Pool, decode_pool: Pool,
                      link_bw_bytes_per_s, link_latency_s, policy_prefill: Policy, policy_decode: Policy) -> dict:
    """Prefill pool, KV transfer, decode pool (as ``simulate_disaggregated``)."""
    P, O = np.asarray(prompt_tokens, float), np.asarray(output_tokens, float)
    v = np.asarray(valid, float)
    first = run(arrival_s, P, np.ones_like(O), v, prefill_pool, policy_prefill)
    more = (v > 0) & (O > 1) & np.isfinite(first["finish_s"])
    move = np.asarray(kv_transfer_s(prefill_pool, P, link_bw_bytes_per_s, link_latency_s), float)
    arrive = np.where(more, first["finish_s"] + move, 0.0)
    second = run(arrive, P, O, more.astype(float), decode_pool, policy_decode, prefilled=np.ones_like(O),
                 last_token_s=np.where(more, first["first_token_s"], 0.0))
    one = O <= 1
    return {"admitted_s": first["admitted_s"], "first_token_s": first["first_token_s"],
            "finish_s": np.where(one, first["finish_s"], second["finish_s"]),
            "preemptions": first["preemptions"] + second["preemptions"],
            "tokens": np.where(one, first["tokens"], second["tokens"]),
            "never_fit": np.maximum(first["never_fit"], second["never_fit"])}


__all__ = ["run", "run_disaggregated", "step_fn"]
