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
import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..space import DesignSpace

MAX_POINTS = 2**62  # flat indices stay int64 on the host and in files


@dataclasses.dataclass(frozen=True)
class Chunk:
    variant: int
    start: int  # global flat index of the first point
    local_start: int  # index inside the variant
    size: int  # valid points (<= the compiled chunk size)

    @property
    def stop(self) -> int:
        return self.start + self.size


@dataclasses.dataclass(frozen=True, eq=False)
class Enumeration:
    space: DesignSpace
    mode: str = "grid"
    samples: int = 0
    seed: int = 0

    @property
    def per_variant(self) -> int:
        return self.space.grid_size if self.mode == "grid" else int(self.samples)

    @property
    def total(self) -> int:
        return len(self.space.variants) * self.per_variant

    # Host side (Python ints, exact).
    def chunks_per_variant(self, chunk: int) -> int:
        return -(-self.per_variant // chunk)

    def num_chunks(self, chunk: int) -> int:
        return len(self.space.variants) * self.chunks_per_variant(chunk)

    def chunk(self, k: int, chunk: int) -> Chunk:
        cpv = self.chunks_per_variant(chunk)
        v, local = divmod(k, cpv)
        local *= chunk
        return Chunk(v, v * self.per_variant + local, local, min(chunk, self.per_variant - local))

    def start_args(self, local_start: int) -> np.ndarray:
        """int32 vector the device decodes from: grid digits, or (hi, lo) 32-bit words."""
        if self.mode == "grid":
            digits = []
            for size in reversed(self.space.grid_shape):
                local_start, d = divmod(local_start, size)
                digits.append(d)
            return np.array(digits[::-1], np.int32)
        hi, lo = divmod(local_start, 2**32)
        return np.array([hi, lo], np.uint32).view(np.int32)

    def grid_digits(self, local: int) -> tuple[int, ...]:
        return tuple(int(d) for d in self.start_args(local)) if self.mode == "grid" else ()

    # Device side (jit/vmap-friendly).
    def decode(self, args, offsets):
        """x (len(offsets), dim) float32 for points ``start + offsets`` (offsets int32 >= 0)."""
        if self.mode == "grid":
            return self.space.grid_point(_add_with_carry(args, offsets, self.space.grid_shape))
        return self._random_x(args, offsets)

    def _random_x(self, args, offsets):
        words = jax.lax.bitcast_convert_type(args, jnp.uint32)
        lo = words[1] + offsets.astype(jnp.uint32)
        hi = words[0] + (lo < words[1]).astype(jnp.uint32)  # carry out of the low word
        base = jax.random.key(self.seed)

        def one(h, l):
            return jax.random.uniform(jax.random.fold_in(jax.random.fold_in(base, h), l), (self.space.dim,))

        u = jax.vmap(one)(hi, lo)
        cols = []
        for i, var in enumerate(self.space.variables):
            if var.kind == "continuous":
                cols.append(var.from_unit(u[:, i], jnp).astype(jnp.float32))
            else:
                vals = jnp.asarray(np.asarray(var.grid_values(), np.float32))
                d = jnp.minimum(jnp.floor(u[:, i] * vals.shape[0]).astype(jnp.int32), vals.shape[0] - 1)
                cols.append(vals[d])
        return jnp.stack(cols, axis=-1)


def _add_with_carry(digits, offsets, radices):
    """Mixed-radix ``digits + offsets`` (last digit fastest); overflow past the top is dropped."""
    carry = offsets
    out = []
    for d in reversed(range(len(radices))):
        t = digits[d] + carry
        out.append(t % radices[d])
        carry = t // radices[d]
    return jnp.stack(out[::-1], axis=-1)


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
