"""Block-quantized matrices in a graph: MatMulNBits and GatherBlockQuantized operands.

Both ops read a matrix W (N, K) in the byte layout export/quantize/blocks.py
describes. The WebGPU graph stores every matrix and the tied embedding/head this
way; the CPU graph its int4 table of the embedding rows its head does not keep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from export.graphs.builder import MS, GraphBuilder
from export.quantize.blocks import QuantizedMatrix, nibble_planes


@dataclass
class Plane:
    """One 4-bit MatMulNBits / GatherBlockQuantized operand of a stored matrix."""

    packed: str  # uint8 (N, K / 2): 4-bit values, low nibble first
    scales: str  # float32 (N, K / block)
    zeros: list  # [] (default zero point 8) or [packed zero points]


@dataclass
class StoredMatrix:
    """A quantized matrix in the graph: one 4-bit plane, or two for 8 bit.

    An 8-bit matrix is computed as hi * 16 + lo (see export/quantize/blocks.py), so
    every op runs onnxruntime's fast 4-bit kernels and the result is exact.
    """

    matrix: QuantizedMatrix
    planes: list[Plane]

    @property
    def block(self) -> int:
        return self.matrix.block


def store_matrix(
    g: GraphBuilder, name: str, m: QuantizedMatrix, float32_scales: bool = False
) -> StoredMatrix:
    """Add `m`'s planes. Scales are stored float16 and cast when the graph runs, or
    stored float32 (`float32_scales`: twice the bytes, no Cast at every step on a
    graph that runs unoptimized, the CPU graph)."""
    if float32_scales:
        scales = g.const(f"{name}.scales", m.scales.astype(np.float32))
    else:
        scales = g.op("Cast", [g.const(f"{name}.scales_f16", m.scales)], f"{name}.scales", to=1)
    if m.bits == 4:
        zeros = [] if m.zero_points is None else [g.const(f"{name}.zero_points", m.zero_points)]
        return StoredMatrix(m, [Plane(g.const(f"{name}.qweight", m.packed), scales, zeros)])
    hi, lo = nibble_planes(m)
    sixteen = g.const(f"{name}.sixteen", np.array(16.0, np.float32))
    hi_scales = g.op("Mul", [scales, sixteen], f"{name}.hi_scales")
    hi_plane = Plane(g.const(f"{name}.qweight_hi", hi), hi_scales, [])
    return StoredMatrix(m, [hi_plane, Plane(g.const(f"{name}.qweight_lo", lo), scales, [])])


def matmul(g: GraphBuilder, x: str, stored: StoredMatrix, hint: str) -> str:
    """x (..., K) @ W.T -> (..., N), summed over the matrix's planes.

    MatMulNBits wants B as (N, K / block, block / 2); planes are stored
    (N, K / 2) so that GatherBlockQuantized can read the same bytes: a Reshape
    (folded away when the session loads) bridges the two.
    """
    n, k = stored.matrix.shape
    shape = np.array([n, k // stored.block, stored.block // 2], np.int64)
    shape_name = g.const(g.name(f"{hint}.b_shape"), shape)
    partial = []
    for i, plane in enumerate(stored.planes):
        b = g.op("Reshape", [plane.packed, shape_name], f"{hint}.b{i}")
        inputs = [x, b, plane.scales, *plane.zeros]
        partial.append(
            g.op("MatMulNBits", inputs, f"{hint}.part{i}", domain=MS, K=k, N=n, bits=4,
                 block_size=stored.block, accuracy_level=0)
        )  # fmt: skip
    return partial[0] if len(partial) == 1 else g.op("Add", partial, hint)


def gather(g: GraphBuilder, stored: StoredMatrix, ids: str, hint: str) -> str:
    """Rows `ids` of W, dequantized: (..., K), summed over the matrix's planes."""
    rows = []
    for plane in stored.planes:
        inputs = [plane.packed, ids, plane.scales, *plane.zeros]
        rows.append(
            g.op("GatherBlockQuantized", inputs, hint, domain=MS, bits=4,
                 block_size=stored.block, gather_axis=0, quantize_axis=1)
        )  # fmt: skip
    return rows[0] if len(rows) == 1 else g.op("Add", rows, hint)
