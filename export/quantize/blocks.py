"""Block-wise integer quantization in the byte layout onnxruntime's contrib ops read.

`MatMulNBits` and `GatherBlockQuantized` share one layout for a matrix W of
shape (N, K) quantized along K in blocks of `block` values:
- packed  uint8 (N, K * bits / 8): values packed low bits first;
- scales  (N, K / block), stored as float16 to halve their size (a Cast in the
  graph turns them into float32, which the ops need);
- zero points uint8 (N, ceil(K / block * bits / 8)), packed the same way
  (None for the symmetric 8-bit grid).
Dequantized value = (q - zero_point) * scale. The scale is rounded to float16
*before* the integers are chosen, so the stored grid is exactly the one used.

8-bit matrices are computed as two 4-bit ones (see `nibble_planes`), because
onnxruntime's float32 MatMulNBits kernels are fast for 4 bit but ~50x slower
for 8 bit. Their grid is symmetric with the zero point at 136 and values
within ±119, so q = 16 * hi + lo with both nibbles around the default zero
point 8: (q - 136) = 16 * (hi - 8) + (lo - 8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EIGHT_BIT_ZERO = 136  # 16 * 8 + 8: both nibbles centred on MatMulNBits' default zero point
EIGHT_BIT_RANGE = 119  # 136 + 119 = 255


@dataclass
class QuantizedMatrix:
    """One block-quantized matrix: the three arrays plus how to read them."""

    packed: np.ndarray  # uint8 (N, K * bits / 8)
    scales: np.ndarray  # float16 (N, K / block)
    zero_points: np.ndarray | None  # uint8 (N, ceil(K / block * bits / 8)) or None
    bits: int
    block: int
    shape: tuple[int, int]  # (N, K)

    @property
    def nbytes(self) -> int:
        zp = 0 if self.zero_points is None else self.zero_points.nbytes
        return self.packed.nbytes + self.scales.nbytes + zp


def pack(values: np.ndarray, bits: int) -> np.ndarray:
    """Pack unsigned ints < 2**bits along the last axis, low bits first."""
    if bits == 8:
        return values.astype(np.uint8)
    per_byte = 8 // bits
    n, k = values.shape
    if k % per_byte:
        values = np.concatenate([values, np.zeros((n, per_byte - k % per_byte), values.dtype)], 1)
    values = values.astype(np.uint8).reshape(n, -1, per_byte)
    out = np.zeros(values.shape[:2], np.uint8)
    for slot in range(per_byte):
        out |= values[:, :, slot] << (slot * bits)
    return out


def unpack(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    """Inverse of `pack`: (N, bytes) -> (N, count) uint8."""
    if bits == 8:
        return packed[:, :count]
    per_byte = 8 // bits
    mask = (1 << bits) - 1
    slots = [(packed >> (slot * bits)) & mask for slot in range(per_byte)]
    return np.stack(slots, axis=-1).reshape(packed.shape[0], -1)[:, :count]


def quantize(w: np.ndarray, bits: int, block: int) -> QuantizedMatrix:
    """Round-to-nearest block quantization of w (N, K).

    4 bit (and other widths below 8) use an asymmetric grid: min/max per block
    map to 0 and 2^bits - 1. 8 bit uses a symmetric grid around 128, which is
    exact for the GGUF's Q8_0 and Q5_0 blocks of 32.
    """
    n, k = w.shape
    if k % block:
        raise ValueError(f"K={k} is not a multiple of the block size {block}")
    blocks = w.reshape(n, k // block, block).astype(np.float32)
    top = (1 << bits) - 1
    if bits == 8:
        scale = np.abs(blocks).max(axis=-1) / EIGHT_BIT_RANGE
        zero = np.full(scale.shape, float(EIGHT_BIT_ZERO), np.float32)
    else:
        lo = np.minimum(blocks.min(axis=-1), 0.0)
        hi = np.maximum(blocks.max(axis=-1), 0.0)
        scale = (hi - lo) / top
        zero = None
    scale16 = scale.astype(np.float16)
    scale32 = scale16.astype(np.float32)
    safe = np.where(scale32 == 0, 1.0, scale32)
    if zero is None:
        zero = np.clip(np.round(-lo / safe), 0, top)
    q = np.clip(np.round(blocks / safe[..., None] + zero[..., None]), 0, top)
    packed = pack(q.reshape(n, k).astype(np.uint8), bits)
    zero_points = None if bits == 8 else pack(zero.astype(np.uint8), bits)
    return QuantizedMatrix(packed, scale16, zero_points, bits, block, (n, k))


def dequantize(m: QuantizedMatrix) -> np.ndarray:
    """The float32 matrix the ONNX ops will see, for the numpy reference."""
    n, k = m.shape
    nblocks = k // m.block
    q = unpack(m.packed, m.bits, k).astype(np.float32).reshape(n, nblocks, m.block)
    if m.zero_points is None:
        zero = np.full((n, nblocks), float(EIGHT_BIT_ZERO), np.float32)
    else:
        zero = unpack(m.zero_points, m.bits, nblocks).astype(np.float32)
    scale = m.scales.astype(np.float32)
    return ((q - zero[..., None]) * scale[..., None]).reshape(n, k)


def nibble_planes(m: QuantizedMatrix) -> tuple[np.ndarray, np.ndarray]:
    """Split an 8-bit matrix into high and low 4-bit planes, each packed (N, K / 2).

    W = (hi - 8) * (16 * scale) + (lo - 8) * scale, exactly.
    """
    assert m.bits == 8
    return pack(m.packed >> 4, 4), pack(m.packed & 15, 4)
