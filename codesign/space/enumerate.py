"""Lazy enumeration of a design space: flat index -> design, decoded on the device.

Points ``j = 0 .. N - 1`` of each static variant, in one of two modes:

* ``grid``: ``j`` is the C-order (last variable fastest) mixed-radix number of the grid
  coordinates (:meth:`DesignSpace.grid_point`);
* ``random``: point ``j`` is :meth:`Codec.sample` of ``u_j`` in [0, 1)^d drawn by a
  counter-based generator keyed on (seed, j): uniform in the codec's unit coordinates
  (log-scaled where the codec searches in log space), rounded to allowed values. This is
  the one meaning of "random" in the toolkit: random search draws the same points.

Indices are Python ints on the host (exact beyond 2**31); jitted code only ever sees small
int32s: the host turns the start of a chunk into digits (or two 32-bit words) and the device
adds the local offset with carry. Chunks never cross variants; chunk ``k`` of a variant
covers local points ``[k C, min((k + 1) C, N))``.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .codec import Codec, make_codec
from .space import DesignSpace

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
        """int32 vector the device decodes from: grid digits, or (seed, hi, lo) 32-bit words
        (the seed is an argument, so one compiled program serves every seed)."""
        if self.mode == "grid":
            digits = []
            for size in reversed(self.space.grid_shape):
                local_start, d = divmod(local_start, size)
                digits.append(d)
            return np.array(digits[::-1], np.int32)
        hi, lo = divmod(local_start, 2**32)
        return np.array([self.seed, hi, lo], np.uint32).view(np.int32)

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
        lo = words[2] + offsets.astype(jnp.uint32)
        hi = words[1] + (lo < words[2]).astype(jnp.uint32)  # carry out of the low word
        base = jax.random.key(args[0])

        def one(h, l):
            return jax.random.uniform(jax.random.fold_in(jax.random.fold_in(base, h), l), (self.space.dim,))

        u = jax.vmap(one)(hi, lo)
        return self.codec.sample(u).astype(jnp.float32)

    @property
    def codec(self) -> Codec:
        return make_codec(self.space)


def _add_with_carry(digits, offsets, radices):
    """Mixed-radix ``digits + offsets`` (last digit fastest); overflow past the top is dropped."""
    carry = offsets
    out = []
    for d in reversed(range(len(radices))):
        t = digits[d] + carry
        out.append(t % radices[d])
        carry = t // radices[d]
    return jnp.stack(out[::-1], axis=-1)
