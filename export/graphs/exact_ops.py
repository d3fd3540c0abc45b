"""The CPU graph's float parts, computed so that every platform gets the same bits.

The CPU graph rounds each matrix input to int8 (export/graphs/cpu_graph.py). A value
within a last-bit difference of a rounding tie goes either way, then the next
roundings follow, so onnxruntime on x86 (CPython) and onnxruntime-web on wasm
drifted apart by up to half a logit within 24 tokens. Their fused float kernels
differ in the last bit: sums taken in another order (RMSNorm, attention), FMA on
x86 only, their own cos, exp and tanh approximations.

Here every step whose result depends on the order of operations or on a math
library runs in float64 and is rounded to float32 once at the end: RMSNorm, the
RoPE tables, attention (scores, softmax, weighted sum) and gelu. Two float64
results differ by about 1e-16, so their float32 roundings agree unless a value
falls within that distance of a float32 rounding boundary: about one in 10^8.
Everything left in float32 is a single IEEE operation per element (Mul, Add,
Div), which every platform rounds alike. Same functions as fused_ops.FusedOps; the
costs (float64 attention, more nodes) are measured in docs/export.md.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto

from export.graphs.builder import GraphBuilder
from export.graphs.step import StepInputs
from export.model.config import GemmaConfig

F64 = TensorProto.DOUBLE
F32 = TensorProto.FLOAT


class ExactOps:
    """Float parts of a layer that give identical bits on x86 and WebAssembly."""

    def __init__(
        self, g: GraphBuilder, c: GemmaConfig, kv_type: int = F32, window_cache: bool = False
    ):
        self.g, self.c = g, c
        self.kv_type = kv_type  # the KV cache's element type (F32, or FLOAT16: half the bytes)
        # Sliding layers hand on only the last `sliding_window - 1` positions, all the
        # next step can see (windowed_layers); global layers keep every position.
        self.window_cache = window_cache
        self.masks: dict[int, str] = {}  # window (-1: none) -> additive mask (S, T)
        self.constants: dict[tuple, str] = {}

    def const64(self, hint: str, value: float) -> str:
        """A float64 scalar constant, added once."""
        return self._constant(hint, np.array(value, np.float64))

    def int_const(self, hint: str, values) -> str:
        """An int64 constant (shapes, axes, indices), added once."""
        return self._constant(hint, np.array(values, np.int64))

    def _constant(self, hint: str, array: np.ndarray) -> str:
        key = (hint, array.dtype.str, array.shape, array.tobytes())
        if key not in self.constants:
            self.constants[key] = self.g.const(self.g.name(hint), array)
        return self.constants[key]

    def to64(self, x: str, hint: str) -> str:
        return self.g.op("Cast", [x], hint + ".f64", to=F64)

    def to32(self, x: str, hint: str) -> str:
        return self.g.op("Cast", [x], hint, to=F32)

    def rope_tables(self, positions: str, base: float, tag: str) -> tuple[str, str]:
        """(1, S, 1, Hd) tables for rope(): [cos, cos] and [-sin, sin] of position *
        inv_freq, computed in float64 and rounded once."""
        g, c = self.g, self.c
        half = c.head_dim // 2
        inv_freq = 1.0 / (base ** (np.arange(0, half, dtype=np.float64) * 2 / c.head_dim))
        freq = g.const(f"rope.{tag}.inv_freq", inv_freq.astype(np.float32).reshape(1, half))
        angles = self.to64(g.op("Mul", [positions, freq], f"rope.{tag}.angles"), f"rope.{tag}")
        cos = g.op("Cos", [angles], f"rope.{tag}.cos64")
        sin = g.op("Sin", [angles], f"rope.{tag}.sin64")
        shape = self.int_const("rope_shape", [1, -1, 1, c.head_dim])
        tables = []
        for first, second, name in (
            (cos, cos, "cos"),
            (g.op("Neg", [sin], f"rope.{tag}.neg"), sin, "sin"),
        ):
            full = g.op("Concat", [first, second], f"rope.{tag}.{name}64", axis=-1)  # (S, Hd)
            tables.append(
                g.op(
                    "Reshape", [self.to32(full, f"rope.{tag}.{name}"), shape], f"rope.{tag}.{name}4"
                )
            )
        return tables[0], tables[1]

    def rms(self, x: str, weight: str, hint: str) -> str:
        """x / sqrt(mean(x^2) + eps) * weight over the last axis (`weight`: float64)."""
        normed = self.g.op(
            "SimplifiedLayerNormalization", [self.to64(x, hint), weight], hint + ".f64",
            axis=-1, epsilon=float(self.c.rms_norm_eps), stash_type=F64,
        )  # fmt: skip
        return self.to32(normed, hint)

    def skip_rms(self, x: str, skip: str, weight: str) -> tuple[str, str]:
        total = self.g.op("Add", [x, skip], "residual")  # one float32 add: the same everywhere
        return self.rms(total, weight, "skip_norm"), total

    def rope(self, x: str, heads: int, tables: tuple[str, str], step: StepInputs, hint: str) -> str:
        """x (1, S, heads, Hd) -> (1, S, heads * Hd) rotated by halves:
        [x1 cos - x2 sin, x2 cos + x1 sin] = x * [cos, cos] + [x2, x1] * [-sin, sin],
        each a single float32 operation per element."""
        g, hd = self.g, self.c.head_dim
        cos, sin = tables
        swap = self.int_const("rope_swap", list(range(hd // 2, hd)) + list(range(hd // 2)))
        swapped = g.op("Gather", [x, swap], hint + ".swapped", axis=3)  # [x2, x1]
        rotated = g.op(
            "Add",
            [g.op("Mul", [x, cos], hint + ".cos"), g.op("Mul", [swapped, sin], hint + ".sin")],
            hint + ".rotated",
        )
        return g.op("Reshape", [rotated, self.int_const("flat", [1, -1, heads * hd])], hint)

    def attention(self, layer: int, q: str, k: str, v: str, step: StepInputs) -> str:
        """Causal (and, on sliding layers, windowed) attention in float64 over the cache.

        The past rows and the step's own are never joined into one tensor: the scores are
        taken against each and joined (G·S columns a position), and the weighted sum is
        the past's share plus the step's. The runner keeps the cache itself from the
        step's rows (new_key_values.*), so the graph copies no cache at any step.
        """
        g, c = self.g, self.c
        p = f"layers.{layer}.attn"
        hd, kv_heads = c.head_dim, c.num_kv_heads
        group = c.num_heads // kv_heads
        windowed = layer in windowed_layers(c, self.window_cache)

        def step_rows(new: str, part: str) -> str:
            """(1, Hkv, S, Hd) rounded like the cached rows, an output of its own."""
            heads = g.op("Reshape", [new, self.int_const("kv", [1, -1, kv_heads, hd])], p)
            heads = g.op("Transpose", [heads], p + f".{part}_t", perm=[0, 2, 1, 3])
            rows = f"new_key_values.{layer}.{part}"
            if self.kv_type != F32:
                g.op_named("Cast", [heads], rows, to=self.kv_type)
            else:
                g.op_named("Identity", [heads], rows)
            return rows

        past_keys, past_values = (f"past_key_values.{layer}.{part}" for part in ("key", "value"))
        new_keys, new_values = step_rows(k, "key"), step_rows(v, "value")
        queries = self.query_columns(q, p)
        by_position = g.op(
            "Concat",
            [
                g.op("MatMul", [self.to64(past_keys, p + ".past_k"), queries], p + ".st_past"),
                g.op("MatMul", [self.to64(new_keys, p + ".new_k"), queries], p + ".st_new"),
            ],
            p + ".st",
            axis=2,
        )  # (1, Hkv, T, S·G): T = the past's rows and the step's
        scores = self.scores(by_position, p)  # (1, Hkv, G, S, T)
        scores = g.op("Mul", [scores, self.const64("attn_scale", float(c.scale))], p + ".scaled")
        window = -1 if c.is_global(layer) else int(c.sliding_window)
        mask = self.mask(step, window, by_position if windowed else None)
        scores = g.op("Add", [scores, mask], p + ".masked")
        weights = g.op("Softmax", [scores], p + ".weights", axis=-1)
        # The G·S rows of weights: (1, Hkv, G·S, T), split where the step's own rows begin.
        held = g.op("Shape", [by_position], p + ".held", start=2, end=3)  # (T,)
        rows = g.op(
            "Concat", [self.int_const("weight_rows", [0, 0, -1]), held], p + ".rows", axis=0
        )
        weights = g.op("Reshape", [weights, rows], p + ".w4")
        past_len = g.op("Shape", [past_values], p + ".past_len", start=2, end=3)  # (1,)
        start, end = self.int_const("zero1", [0]), self.int_const("int_max", [2**62])
        last_axis = self.int_const("axis3", [3])
        on_past = g.op("Slice", [weights, start, past_len, last_axis], p + ".w_past")
        on_new = g.op("Slice", [weights, past_len, end, last_axis], p + ".w_new")
        out = g.op(
            "Add",
            [
                g.op("MatMul", [on_past, self.to64(past_values, p + ".past_v")], p + ".out_past"),
                g.op("MatMul", [on_new, self.to64(new_values, p + ".new_v")], p + ".out_new"),
            ],
            p + ".out64",
        )  # (1, Hkv, G·S, Hd)
        out = self.to32(out, p + ".out32")
        out = g.op("Reshape", [out, self.int_const("out5", [0, 0, group, -1, hd])], p + ".out5")
        out = g.op("Transpose", [out], p + ".out_t", perm=[0, 3, 1, 2, 4])  # (1, S, Hkv, G, Hd)
        return g.op("Reshape", [out, self.int_const("attn_flat", [1, -1, c.num_heads * hd])], p)

    def query_columns(self, q: str, p: str) -> str:
        """q (1, S, H·Hd) as float64 columns (1, Hkv, Hd, S·G), for keys · qᵀ.

        The cache is the large operand (T rows of Hd) and grows with the story: taking
        the product this way round transposes only the queries and the scores (G·S by
        T), never the cache. Each score sums the same float64 products as q · keysᵀ
        would, and is rounded to float32 once at the end as before.
        """
        g, c = self.g, self.c
        hd, kv_heads = c.head_dim, c.num_kv_heads
        group = c.num_heads // kv_heads
        q = g.op("Reshape", [q, self.int_const("q5", [1, -1, kv_heads, group, hd])], p + ".q5")
        q = g.op("Transpose", [q], p + ".q_t", perm=[0, 2, 4, 1, 3])  # (1, Hkv, Hd, S, G)
        q = g.op("Reshape", [q, self.int_const("q_cols", [1, kv_heads, hd, -1])], p + ".qc")
        return self.to64(q, p + ".q")

    def scores(self, by_position: str, p: str) -> str:
        """keys · qᵀ (1, Hkv, T, S·G) -> the scores by head (1, Hkv, G, S, T)."""
        group = self.c.num_heads // self.c.num_kv_heads
        by_head = self.int_const("st5", [0, 0, 0, -1, group])
        scores = self.g.op("Reshape", [by_position, by_head], p + ".st5")  # (1, Hkv, T, S, G)
        return self.g.op("Transpose", [scores], p + ".s", perm=[0, 1, 4, 3, 2])

    def mask(self, step: StepInputs, window: int, keys_held: str | None = None) -> str:
        """(S, T) float64: 0 where position i may see key j (j <= i, i - j < window), else -inf.

        `keys_held`: a windowed layer's scores by position (1, Hkv, T, S·G), over the last T
        positions; every windowed layer holds as many, so one mask serves them all."""
        if window in self.masks:
            return self.masks[window]
        g = self.g
        one, zero = self.int_const("one", 1), self.int_const("zero", 0)
        first = zero
        if keys_held is not None:
            held = g.op(
                "Gather", [g.op("Shape", [keys_held], "held_shape"), self.int_const("two", 2)],
                "held_len", axis=0,
            )  # fmt: skip
            first = g.op("Sub", [step.total, held], "held_from")
        keys = g.op("Range", [first, step.total, one], f"key_positions_{window}")  # (T,)
        rows = g.op("Unsqueeze", [step.absolute, self.int_const("axis1", [1])], "query_rows")
        distance = g.op("Sub", [rows, keys], "distance")  # (S, T): i - j
        seen = g.op("GreaterOrEqual", [distance, zero], "causal")
        if window > 0:
            near = g.op("Less", [distance, self.int_const("window", window)], "in_window")
            seen = g.op("And", [seen, near], "seen")
        blocked = self.const64("blocked", -math.inf)
        self.masks[window] = g.op(
            "Where", [seen, self.const64("open", 0.0), blocked], f"mask_{window}"
        )
        return self.masks[window]

    def gelu(self, x: str, hint: str) -> str:
        """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), in float64."""
        y = self.g.op("Gelu", [self.to64(x, hint)], hint + ".f64", approximate="tanh")
        return self.to32(y, hint + ".y")


def windowed_layers(c: GemmaConfig, window_cache: bool) -> frozenset[int]:
    """The sliding layers whose cache keeps only the window, when `window_cache` is on.
    Needs a global layer, whose cache still gives the step its position (step_inputs)."""
    sliding = [layer for layer in range(c.num_layers) if not c.is_global(layer)]
    if not window_cache or len(sliding) == c.num_layers:
        return frozenset()
    return frozenset(sliding)


def length_layer(c: GemmaConfig) -> int:
    """A global layer: its cache holds every position the step comes after."""
    return next((layer for layer in range(c.num_layers) if c.is_global(layer)), 0)


__all__ = ["ExactOps", "length_layer", "windowed_layers"]
