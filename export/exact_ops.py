"""The CPU graph's float parts, computed so that every platform gets the same bits.

The CPU graph rounds each matrix input to int8 (export/cpu_graph.py). A value
within a last-bit difference of a rounding tie goes either way, then the next
roundings follow, so onnxruntime on x86 (CPython) and onnxruntime-web on wasm
drifted apart by up to half a logit within 24 tokens. Their fused float kernels
differ in the last bit: sums taken in another order (RMSNorm, attention), FMA on
x86 only, their own cos, exp and tanh approximations.

Here every step whose result depends on the order of operations or on a math
library runs in float64 and is rounded to float32 once at the end: RMSNorm's mean,
the RoPE tables, attention (scores, softmax, weighted sum) and gelu. Two float64
results differ by about 1e-16, so their float32 roundings agree unless a value
falls within that distance of a float32 rounding boundary: about one in 10^8.
Everything left in float32 is a single IEEE operation per element (Mul, Add,
Div), which every platform rounds alike. Same functions as graph.FusedOps; the
cost is float64 attention, a few milliseconds a token at a few hundred tokens of
context (docs/export.md).
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto

from export.config import GemmaConfig
from export.graph import GraphBuilder, StepInputs, _i64

F64 = TensorProto.DOUBLE
F32 = TensorProto.FLOAT


class ExactOps:
    """Float parts of a layer that give identical bits on x86 and WebAssembly."""

    def __init__(self, g: GraphBuilder, c: GemmaConfig):
        self.g, self.c = g, c
        self.masks: dict[int, str] = {}  # window (-1: none) -> additive mask (S, T)

    def const64(self, hint: str, value: float) -> str:
        return self.g.const(self.g.name(hint), np.array(value, np.float64))

    def to64(self, x: str, hint: str) -> str:
        return self.g.op("Cast", [x], hint + ".f64", to=F64)

    def to32(self, x: str, hint: str) -> str:
        return self.g.op("Cast", [x], hint, to=F32)

    def rope_tables(self, positions: str, base: float, tag: str) -> tuple[str, str]:
        """cos/sin (S, Hd/2) of position * inv_freq, in float64, rounded once."""
        g, c = self.g, self.c
        half = c.head_dim // 2
        inv_freq = 1.0 / (base ** (np.arange(0, half, dtype=np.float64) * 2 / c.head_dim))
        freq = g.const(f"rope.{tag}.inv_freq", inv_freq.astype(np.float32).reshape(1, half))
        angles = self.to64(g.op("Mul", [positions, freq], f"rope.{tag}.angles"), f"rope.{tag}")
        cos = self.to32(g.op("Cos", [angles], f"rope.{tag}.cos64"), f"rope.{tag}.cos")
        sin = self.to32(g.op("Sin", [angles], f"rope.{tag}.sin64"), f"rope.{tag}.sin")
        return cos, sin

    def rms(self, x: str, weight: str, hint: str) -> str:
        """x / sqrt(mean(x^2) + eps) * weight over the last axis."""
        g = self.g
        x64 = self.to64(x, hint)
        mean = g.op(
            "ReduceMean",
            [g.op("Mul", [x64, x64], hint + ".sq"), _i64(g, g.name("last_axis"), [-1])],
            hint + ".mean",
            keepdims=1,
        )
        eps = self.const64("rms_eps", float(self.c.rms_norm_eps))
        root = g.op("Sqrt", [g.op("Add", [mean, eps], hint + ".var")], hint + ".root")
        w64 = self.to64(weight, hint + ".w")
        normed = g.op("Mul", [g.op("Div", [x64, root], hint + ".unit"), w64], hint + ".normed")
        return self.to32(normed, hint)

    def skip_rms(self, x: str, skip: str, weight: str) -> tuple[str, str]:
        total = self.g.op("Add", [x, skip], "residual")  # one float32 add: the same everywhere
        return self.rms(total, weight, "skip_norm"), total

    def rope(self, x: str, heads: int, tables: tuple[str, str], step: StepInputs, hint: str) -> str:
        """Rotate halves: [x1 cos - x2 sin, x2 cos + x1 sin], one float32 op at a time."""
        g, hd = self.g, self.c.head_dim
        cos, sin = (
            g.op("Reshape", [t, _i64(g, g.name("rope_shape"), [1, -1, 1, hd // 2])], hint + ".t")
            for t in tables
        )  # (1, S, 1, Hd/2): one row per position, shared by the heads
        x = g.op("Reshape", [x, _i64(g, g.name("heads"), [1, -1, heads, hd])], hint + ".heads")
        x1, x2 = g.op(
            "Split", [x, _i64(g, g.name("halves"), [hd // 2, hd // 2])], hint + ".half",
            outputs=2, axis=-1,
        )  # fmt: skip
        first = g.op(
            "Sub",
            [g.op("Mul", [x1, cos], hint + ".a"), g.op("Mul", [x2, sin], hint + ".b")],
            hint + ".first",
        )
        second = g.op(
            "Add",
            [g.op("Mul", [x2, cos], hint + ".c"), g.op("Mul", [x1, sin], hint + ".d")],
            hint + ".second",
        )
        rotated = g.op("Concat", [first, second], hint + ".rotated", axis=-1)
        return g.op("Reshape", [rotated, _i64(g, g.name("flat"), [1, -1, heads * hd])], hint)

    def attention(self, layer: int, q: str, k: str, v: str, step: StepInputs) -> str:
        """Causal (and, on sliding layers, windowed) attention in float64 over the cache."""
        g, c = self.g, self.c
        p = f"layers.{layer}.attn"
        hd, kv_heads = c.head_dim, c.num_kv_heads
        group = c.num_heads // kv_heads

        def cache(new: str, part: str) -> str:
            heads = g.op("Reshape", [new, _i64(g, g.name("kv"), [1, -1, kv_heads, hd])], p)
            heads = g.op("Transpose", [heads], p + f".{part}_t", perm=[0, 2, 1, 3])  # (1,Hkv,S,Hd)
            present = f"present.{layer}.{part}"
            g.op_named("Concat", [f"past_key_values.{layer}.{part}", heads], present, axis=2)
            cached = g.op("Unsqueeze", [present, _i64(g, g.name("axis2"), [2])], p + f".{part}5")
            return self.to64(cached, p + f".{part}")  # (1, Hkv, 1, T, Hd)

        keys, values = cache(k, "key"), cache(v, "value")
        q = g.op("Reshape", [q, _i64(g, g.name("q5"), [1, -1, kv_heads, group, hd])], p + ".q5")
        q = self.to64(g.op("Transpose", [q], p + ".q_t", perm=[0, 2, 3, 1, 4]), p + ".q")
        scores = g.op(
            "MatMul", [q, g.op("Transpose", [keys], p + ".kt", perm=[0, 1, 2, 4, 3])], p + ".s"
        )  # (1, Hkv, G, S, T)
        scores = g.op("Mul", [scores, self.const64("attn_scale", float(c.scale))], p + ".scaled")
        window = -1 if c.is_global(layer) else int(c.sliding_window)
        scores = g.op("Add", [scores, self.mask(step, window)], p + ".masked")
        weights = g.op("Softmax", [scores], p + ".weights", axis=-1)
        out = self.to32(g.op("MatMul", [weights, values], p + ".out64"), p + ".out32")
        out = g.op("Transpose", [out], p + ".out_t", perm=[0, 3, 1, 2, 4])  # (1, S, Hkv, G, Hd)
        return g.op("Reshape", [out, _i64(g, g.name("attn_flat"), [1, -1, c.num_heads * hd])], p)

    def mask(self, step: StepInputs, window: int) -> str:
        """(S, T) float64: 0 where position i may see key j (j <= i, i - j < window), else -inf."""
        if window in self.masks:
            return self.masks[window]
        g = self.g
        one, zero = _i64(g, g.name("one"), 1), _i64(g, g.name("zero"), 0)
        keys = g.op("Range", [zero, step.total, one], "key_positions")  # (T,)
        rows = g.op("Unsqueeze", [step.absolute, _i64(g, g.name("axis1"), [1])], "query_rows")
        distance = g.op("Sub", [rows, keys], "distance")  # (S, T): i - j
        seen = g.op("GreaterOrEqual", [distance, zero], "causal")
        if window > 0:
            near = g.op("Less", [distance, _i64(g, g.name("window"), window)], "in_window")
            seen = g.op("And", [seen, near], "seen")
        blocked = self.const64("blocked", -math.inf)
        self.masks[window] = g.op(
            "Where", [seen, self.const64("open", 0.0), blocked], f"mask_{window}"
        )
        return self.masks[window]

    def gelu(self, x: str, hint: str) -> str:
        """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), in float64."""
        g = self.g
        x64 = self.to64(x, hint)
        cube = g.op("Mul", [g.op("Mul", [x64, x64], hint + ".x2"), x64], hint + ".x3")
        inner = g.op(
            "Add", [x64, g.op("Mul", [cube, self.const64("c", 0.044715)], hint + ".cx3")],
            hint + ".inner",
        )  # fmt: skip
        scaled = g.op("Mul", [inner, self.const64("k", math.sqrt(2 / math.pi))], hint + ".arg")
        gate = g.op("Add", [g.op("Tanh", [scaled], hint + ".tanh"), self.const64("one", 1.0)], hint)
        half_x = g.op("Mul", [x64, self.const64("half", 0.5)], hint + ".half_x")
        return self.to32(g.op("Mul", [half_x, gate], hint + ".y64"), hint + ".y")


__all__ = ["ExactOps"]
