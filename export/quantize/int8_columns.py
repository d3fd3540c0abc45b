"""int8 (K, N) matrices with one scale per output column: the CPU graph's GEMM operand.

onnxruntime's `MatMulInteger` takes a constant int8 B of shape (K, N) and prepacks
it when the session opens (export/graphs/cpu_graph.py). Each output column gets a
symmetric absmax / 127 scale, stored as float16 values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Int8Columns:
    """W.T as int8 (K, N) with one scale per output column: the GEMM's B."""

    weight: np.ndarray  # int8 (K, N)
    scale: np.ndarray  # float16 (N,)

    @property
    def shape(self) -> tuple[int, int]:
        """(N, K), the source matrix's shape."""
        k, n = self.weight.shape
        return n, k


def quantize_columns(w: np.ndarray) -> Int8Columns:
    """(N, K) float32 -> int8 (K, N): symmetric, one absmax / 127 scale per output row of w."""
    scale = (np.abs(w).max(axis=1) / 127).astype(np.float16)
    safe = np.where(scale == 0, 1, scale).astype(np.float32)
    q = np.clip(np.round(w / safe[:, None]), -127, 127).astype(np.int8)
    return Int8Columns(np.ascontiguousarray(q.T), scale)


def dequantize_columns(m: Int8Columns) -> np.ndarray:
    """(N, K) float32: what the graph multiplies by."""
    return (m.weight.astype(np.float32) * m.scale.astype(np.float32)[None, :]).T
