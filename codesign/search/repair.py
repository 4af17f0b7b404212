"""Rounding and repair: from relaxed (real-valued) designs to valid ones, checked exactly.

A relaxed optimum has fractional chip counts, TP and batch. Rounding to the nearest
allowed value can break a constraint (fewer pipeline stages -> more bytes per chip) or a
divisibility rule (TP must divide the heads), and is not always the best neighbour. So for
each relaxed point the repair step takes, per integer variable, the ``radius`` allowed
values below and above it (floor and ceil for radius 1), forms their product (at most
``max_neighbours`` points, else the rounded point and its one-variable moves), evaluates
every distinct candidate at exact fidelity, and keeps the best feasible one. Continuous
variables stay where the relaxation put them; :mod:`~codesign.search.gradient` then
polishes them with the integers fixed.
"""
import itertools

import numpy as np

from ..space.codec import Codec


def neighbours(codec: Codec, x, radius: int = 1, max_neighbours: int = 64) -> np.ndarray:
    """(k, d) integer-valid designs around one relaxed point ``x``."""
    br = codec.brackets(np.asarray(x, float), radius)
    size = int(np.prod([len(b) for b in br]))
    if size <= max_neighbours:
        return np.array(list(itertools.product(*br)), float)
    base = codec.round(np.asarray(x, float)[None], np)[0]
    rows = [base]
    for i, b in enumerate(br):
        for v in b:
            if v != base[i]:
                r = base.copy()
                r[i] = v
                rows.append(r)
    return np.array(rows, float)


def candidates(codec: Codec, xs, radius: int = 1, max_neighbours: int = 64):
    """Neighbours of every row of ``xs``: (unique candidates (k, d), owner (k,) = index of
    the first row of ``xs`` that produced each, and the per-row candidate index lists)."""
    rows, owner, per_row = [], [], []
    index = {}
    for s, x in enumerate(np.asarray(xs, float)):
        mine = []
        for c in neighbours(codec, x, radius, max_neighbours):
            key = tuple(np.float32(c).tolist())
            if key not in index:
                index[key] = len(rows)
                rows.append(c)
                owner.append(s)
            mine.append(index[key])
        per_row.append(np.array(sorted(set(mine)), int))
    return np.array(rows, float).reshape(-1, codec.dim), np.array(owner, int), per_row


def pick(scores, feasible, per_row) -> np.ndarray:
    """For each relaxed row, the index of its best feasible candidate, or -1."""
    out = np.full(len(per_row), -1, int)
    for s, idx in enumerate(per_row):
        ok = idx[np.asarray(feasible)[idx] & np.isfinite(np.asarray(scores)[s, idx])] if len(idx) else idx
        if len(ok):
            out[s] = int(ok[np.argmin(np.asarray(scores)[s, ok])])
    return out


def pattern_moves(codec: Codec, x, int_steps=(1, 2, 4, 8), unit_steps=(1 / 16, 1 / 64, 1 / 256),
                  pair_int_steps=(1,), pair_unit_steps=(1 / 256,)) -> np.ndarray:
    """Moves around an integer-valid ``x`` for a pattern search (Hooke & Jeeves 1961):
    one variable at several scales — integers by ±s allowed values, continuous variables by
    ±s in unit-box coordinates — plus pairs of one integer and one continuous move (small
    steps), which follow a constraint boundary that couples them (one more sequence in the
    batch needs a little more SRAM). Returns distinct valid designs (k, d)."""
    x = np.asarray(x, float)
    z = codec.encode(x[None], np)[0]
    single = {i: _axis_values(codec, x, z, i, int_steps, unit_steps) for i in range(codec.dim)}
    rows = []
    for i, vals in single.items():
        for v in vals:
            r = x.copy()
            r[i] = v
            rows.append(r)
    ints = [i for i in range(codec.dim) if codec.integer[i]]
    conts = [i for i in range(codec.dim) if not codec.integer[i]]
    for i in ints:
        for vi in _axis_values(codec, x, z, i, pair_int_steps, ()):
            for j in conts:
                for vj in _axis_values(codec, x, z, j, (), pair_unit_steps):
                    r = x.copy()
                    r[i], r[j] = vi, vj
                    rows.append(r)
    return np.unique(np.array(rows, float).reshape(-1, codec.dim), axis=0)


def _axis_values(codec: Codec, x, z, i: int, int_steps, unit_steps) -> list:
    if codec.integer[i]:
        vals = codec.choices[i]
        if vals is not None:
            k = int(np.argmin(np.abs(vals - x[i])))
            return [float(vals[j]) for s in int_steps for j in (k - s, k + s) if 0 <= j < len(vals)]
        return [x[i] + d for s in int_steps for d in (-s, s) if codec.low[i] <= x[i] + d <= codec.high[i]]
    zs = np.clip([z[i] + sgn * s for s in unit_steps for sgn in (-1, 1)], 0.0, 1.0)
    probe = np.repeat(z[None], len(zs), 0)
    probe[:, i] = zs
    return list(codec.decode(probe, np)[:, i])
