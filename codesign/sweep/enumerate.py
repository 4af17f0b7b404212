"""Lazy enumeration of a design space: flat index -> design, decoded on the device.

A sweep visits ``variants x per_variant`` points. The flat index of a point is

.. math:: i = v \\cdot N_{\\mathrm{per\\,variant}} + j,

with ``v`` the static variant and ``j`` the point inside it. In grid mode ``j`` is the
C-order (last variable fastest) mixed-radix number of the grid coordinates; in random mode
it is the counter of a seeded counter-based generator. Indices are Python ints on the host
(exact beyond 2**31); jitted code only ever sees small int32s: the host decodes the start of
a chunk into digits (or two 32-bit words) and the device adds the local offset with carry.

Chunks never cross variants (each variant compiles once) and are numbered globally; chunk
``k`` of a variant covers local points ``[k C, min((k + 1) C, N))``.
"""
import math

from ..space.enumerate import MAX_POINTS, Chunk, Enumeration

__all__ = ["MAX_POINTS", "Chunk", "Enumeration", "add_range", "covered", "overlap", "shard_chunks", "round_chunk"]


# Index ranges: sorted, disjoint, coalesced lists of [start, stop) (Python ints).
def add_range(ranges: list, a: int, b: int) -> list:
    out, placed = [], False
    for lo, hi in ranges:
        if hi < a:
            out.append([lo, hi])
        elif b < lo:
            if not placed:
                out.append([a, b])
                placed = True
            out.append([lo, hi])
        else:
            a, b = min(a, lo), max(b, hi)
    if not placed:
        out.append([a, b])
    return sorted(out)


def covered(ranges: list, a: int, b: int) -> bool:
    return any(lo <= a and b <= hi for lo, hi in ranges)


def overlap(ranges: list, a: int, b: int) -> int:
    """Points of ``ranges`` inside [a, b)."""
    return sum(max(0, min(hi, b) - max(lo, a)) for lo, hi in ranges)


def shard_chunks(num_chunks: int, shard: int, num_shards: int) -> range:
    """Chunk ids of shard ``shard`` of ``num_shards`` (contiguous, disjoint, covering)."""
    return range(num_chunks * shard // num_shards, num_chunks * (shard + 1) // num_shards)


def round_chunk(chunk: int, devices: int) -> int:
    """Smallest multiple of ``devices`` >= chunk (every device gets the same block)."""
    return int(math.ceil(chunk / devices) * devices)
