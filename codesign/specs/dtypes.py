"""Number formats for weights, KV cache and activations.

Bytes per element follow the format definitions (IEEE 754 half, bfloat16, OCP FP8 E4M3/E5M2,
two's-complement int8, OCP MX FP4 E2M1 without the shared-scale overhead for ``fp4``).

Block-scaled 4-bit weight formats carry their scales in the byte count:

- ``mxfp4`` (OCP Microscaling v1.0): blocks of 32 FP4 E2M1 values share one 8-bit E8M0
  scale: (32 x 4 + 8) / 32 = 4.25 bits = 0.53125 bytes per weight.
- ``nvfp4`` (NVIDIA Blackwell): blocks of 16 FP4 E2M1 values share one FP8 E4M3 scale, plus
  one fp32 scale per tensor: (16 x 4 + 8) / 16 = 4.5 bits = 0.5625 bytes per weight (the
  per-tensor 4 bytes are below 1e-6 of any weight matrix and are left out).

They are storage formats: a chip with FP4 tensor units computes them at its ``fp4`` rate; a
chip without (H100, MI300X) dequantises them to 16 bits in the kernel and computes at its
bf16 (else fp16) rate, as the weight-only MXFP4 kernels that serve gpt-oss on Hopper do.
"""
import jax.numpy as jnp

#: bytes per element; fp4 packs two values per byte; block-scaled formats include their scales.
DTYPE_BYTES = {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5,
               "mxfp4": (32 * 4 + 8) / 32 / 8, "nvfp4": (16 * 4 + 8) / 16 / 8}
DTYPES = tuple(DTYPE_BYTES)

#: Block-scaled formats: (elements per block, bits per block scale, compute format).
BLOCK_SCALED = {"mxfp4": (32, 8, "fp4"), "nvfp4": (16, 8, "fp4")}


def dtype_bytes(dtype: str) -> float:
    """Bytes per element of ``dtype``; raises with the allowed names on a typo."""
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; allowed: {', '.join(DTYPES)}") from None


def scale_overhead_bytes(dtype: str, elements) -> float:
    """Bytes of block scales that ``elements`` weights stored in ``dtype`` carry (0 for the
    unscaled formats): elements / block x scale bits / 8."""
    if dtype not in BLOCK_SCALED:
        dtype_bytes(dtype)
        return 0.0 * elements
    block, bits, _ = BLOCK_SCALED[dtype]
    return elements / block * bits / 8.0


def compute_dtype(dtype: str) -> str:
    """The operand format whose peak rate ``dtype`` is computed at where the chip has it:
    the 4-bit block-scaled formats run on FP4 units; every other format is its own."""
    dtype_bytes(dtype)
    return BLOCK_SCALED[dtype][2] if dtype in BLOCK_SCALED else dtype


def peak_flops_per_s(chip, dtype: str):
    """Peak FLOP/s of ``chip`` (at its quoted clock) for operands in ``dtype``: the chip's
    ``<dtype>_flops_per_s``; for mxfp4/nvfp4 its fp4 rate where it has one (> 0), else its
    bf16 rate (fp16 where bf16 is 0): weight-only dequantisation to 16 bits."""
    rate = getattr(chip, f"{compute_dtype(dtype)}_flops_per_s")
    if dtype not in BLOCK_SCALED:
        return rate
    rate16 = jnp.where(chip.bf16_flops_per_s > 0, chip.bf16_flops_per_s, chip.fp16_flops_per_s)
    return jnp.where(rate > 0, rate, rate16)


def dtype_bits_ratio(dtype: str) -> float:
    """Width relative to 16 bits: scales per-op energy (chip-level data: H100 bf16 0.71 vs
    fp8 0.35 pJ/op, i.e. energy per op roughly proportional to width)."""
    return dtype_bytes(dtype) / 2.0
