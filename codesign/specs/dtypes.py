"""Number formats for weights, KV cache and activations.

Bytes per element follow the format definitions (IEEE 754 half, bfloat16, OCP FP8 E4M3/E5M2,
two's-complement int8, OCP MX FP4 E2M1 without the shared-scale overhead).
"""

#: bytes per element; fp4 packs two values per byte.
DTYPE_BYTES = {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5}
DTYPES = tuple(DTYPE_BYTES)


def dtype_bytes(dtype: str) -> float:
    """Bytes per element of ``dtype``; raises with the allowed names on a typo."""
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; allowed: {', '.join(DTYPES)}") from None


def dtype_bits_ratio(dtype: str) -> float:
    """Width relative to 16 bits: scales per-op energy (chip-level data: H100 bf16 0.71 vs
    fp8 0.35 pJ/op, i.e. energy per op roughly proportional to width)."""
    return dtype_bytes(dtype) / 2.0
