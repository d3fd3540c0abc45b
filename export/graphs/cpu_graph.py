"""The CPU (WASM) graph: int8 matrices on onnxruntime's integer GEMM.

onnxruntime-web's wasm build has no SIMD kernel for MatMulNBits (about 14 ns a
weight, docs/facts/cpu-kernels.md) but does have one for `MatMulInteger` with a constant
int8 B of shape (K, N), which it prepacks when the session opens: 10-16× faster
per matrix. So this graph stores every layer matrix and its own output head as

    int8 (K, N), one float16 scale per output column (absmax / 127),
    stored as uint8 W + 128 (see WEIGHT_ZERO_POINT)

and rounds each matrix input to uint8 with one scale per *row* (per token):

    x (S, K) -> s = max|x_row| / 127, xq = round(x / s) + 128 (uint8)
    y = (MatMulInteger(xq, W + 128, 128, 128) as float) * s_row * w_scale_col

Per-token scales matter: DynamicQuantizeMatMul's single scale per tensor is
fine when decoding (one row) but a whole prompt under one scale costs ×1.20
perplexity. q/k/v share one rounded input, so do gate/up.

The output head keeps the rows `head_ids` lists (export/quantize/shortlist.py);
`logits` is -inf elsewhere and `top_ids` are real token ids, so the graph's
interface is the WebGPU graph's, plus the rest rows below. The input embedding
covers every token from two tables and no copy: a kept token's row is its head
column (int8, smoothing undone by one Mul); any other token's row is one of an int4
table of the rest (block 32, like the WebGPU graph's long tail) that stays out of
the graph, in its own file (pyshell/rest_rows.py). The head never writes such a
token, so only a prompt can hold one: the runner reads its rows and feeds them
(`rest_scales`, `rest_packed`, `rest_zero_points`), and onnxruntime's heap is 74 MB
smaller. The weights come ready from export/quantize/cpu_model.py; the float parts
from export/graphs/exact_ops.py.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper

from export.graphs.builder import MS, GraphBuilder
from export.graphs.decoder import decoder_stack, norm_constants, step_inputs
from export.graphs.exact_ops import ExactOps, length_layer, windowed_layers
from export.graphs.interface import KV_TYPES, TOP_K, finish_model, kept_positions
from export.quantize.cpu_model import CpuModel
from export.quantize.int8_columns import Int8Columns

# How onnxruntime opens this graph (conteur.json graphs.wasm.session; the page and
# pyshell's OnnxRunner both follow it):
# - No graph optimizations: the graph is written as it should run, and fusions would
#   change its bits (export/graphs/exact_ops.py). Measured in Node: the wasm heap
#   581 → 412 MB after session creation, at the same decode speed.
# - The "parallel" executor, on one inter-op thread: the sequential executor plans
#   memory reuse for the graph's ~2,200 nodes at session creation, which took 2.9 s
#   in Node against 0.8 s this way, for 3-7 % slower steps. One inter-op thread runs
#   the nodes one at a time, so the results are the sequential executor's, bit for bit.
SESSION = {"graph_optimization": "disabled", "execution_mode": "parallel", "inter_op_threads": 1}

# The KV cache in float16 (conteur.json graphs.wasm.kv_cache): onnxruntime-web copies
# every past tensor into its heap at each step (and, until export 2026.12-9, every present
# one out), so half the bytes move (docs/export.md). Each step's new keys and values are rounded to float16
# before they are used, so a step sees exactly what later steps read back.
KV_CACHE = "float16"
# The sliding layers' cache holds only the last sliding_window - 1 positions, all that
# the next token can see (Gemma 3: 15 of 18 layers, window 512), so a long story's cache
# and the copies of it stop growing there: at 2,048 tokens 14.1 MB instead of 37.7
# (docs/export.md). The step's position comes from a global layer's cache.
WINDOW_CACHE = True

ZERO_POINT = 128  # activations: symmetric int8 values stored as uint8 + 128
# The weights too: each int8 weight is stored as uint8 w + 128 and MatMulInteger takes
# 128 as B's zero point, so the product sums the same (x - 128)(w) as with int8 B. Why
# not int8: onnxruntime's x86 kernel for uint8 x int8 on CPUs with AVX2 but without
# VNNI multiplies byte pairs into 16-bit sums that saturate (255 * 127 * 2 > 32,767),
# so its products come out wrong there (the export's own check failed on such a CPU:
# 0.88 apart on the first position). uint8 x uint8 widens to 16 bits before it
# multiplies and is exact on every x86 kernel, as wasm's is either way (docs/export.md).
WEIGHT_ZERO_POINT = 128


def as_uint8(weight: np.ndarray) -> np.ndarray:
    """int8 weights as the uint8 w + WEIGHT_ZERO_POINT the graph stores."""
    return (weight.astype(np.int16) + WEIGHT_ZERO_POINT).astype(np.uint8)


class RowQuantizer:
    """Rounds a matrix input to uint8, one scale per row, once per distinct input.

    Div, Round and Add are single IEEE operations, so every platform rounds alike
    (export/graphs/exact_ops.py explains why that matters here).
    """

    def __init__(self, g: GraphBuilder):
        self.g = g
        self.done: dict[str, tuple[str, str]] = {}
        self.tiny = g.const("quantize.tiny", np.array(1e-30, np.float32))
        self.inv127 = g.const("quantize.inv127", np.array(1 / 127, np.float32))
        self.offset = g.const("quantize.zero_point", np.array(ZERO_POINT, np.float32))
        self.last_axis = g.int64("quantize.last_axis", [-1])

    def __call__(self, x: str, hint: str) -> tuple[str, str]:
        """x (1, S, K) -> (uint8 (1, S, K), float32 row scales (1, S, 1))."""
        if x in self.done:
            return self.done[x]
        g = self.g
        amax = g.op(
            "ReduceMax", [g.op("Abs", [x], hint + ".abs"), self.last_axis], hint + ".amax",
            keepdims=1,
        )  # fmt: skip
        scale = g.op(
            "Max", [g.op("Mul", [amax, self.inv127], hint + ".s"), self.tiny], hint + ".scale"
        )
        steps = g.op("Round", [g.op("Div", [x, scale], hint + ".steps")], hint + ".round")
        shifted = g.op("Add", [steps, self.offset], hint + ".shifted")  # 1 .. 255
        quantized = g.op("Cast", [shifted], hint + ".q", to=TensorProto.UINT8)
        self.done[x] = (quantized, scale)
        return self.done[x]


def int8_matmul(
    g: GraphBuilder, quantize: RowQuantizer, x: str, m: Int8Columns, name: str,
    weight: str | None = None, col_scale: str | None = None,
) -> str:  # fmt: skip
    """x (1, S, K) @ W.T -> (1, S, N) on MatMulInteger (`weight`/`col_scale`: already added)."""
    xq, row_scale = quantize(x, name + ".in")
    weight = weight or g.const(name + ".u8", as_uint8(m.weight))
    col_scale = col_scale or g.const(name + ".scale", m.scale.astype(np.float32))
    zero = g.const(g.name("act_zero"), np.array(ZERO_POINT, np.uint8))
    weight_zero = g.const(g.name("weight_zero"), np.array(WEIGHT_ZERO_POINT, np.uint8))
    acc = g.op("MatMulInteger", [xq, weight, zero, weight_zero], name + ".acc")  # int32 (1, S, N)
    y = g.op("Cast", [acc], name + ".f", to=TensorProto.FLOAT)
    return g.op("Mul", [g.op("Mul", [y, row_scale], name + ".row"), col_scale], name)


def build_cpu_graph(model: CpuModel) -> onnx.ModelProto:
    """The decoder for the CPU: the same inputs and outputs as the WebGPU graph."""
    c = model.config
    g = GraphBuilder()
    ops = ExactOps(g, c, KV_TYPES[KV_CACHE], WINDOW_CACHE)  # the same bits on x86 and wasm
    step = step_inputs(g, c, ops, length_layer(c))
    norm = norm_constants(g, model.norms, np.float64)  # ExactOps' norms run in float64
    quantize = RowQuantizer(g)
    head_weight = g.const("head.u8", as_uint8(model.head.weight))  # (D, L)
    head_scale = g.const("head.scale", model.head.scale.astype(np.float32))

    def layer_matmul(layer: int):
        p = f"layers.{layer}."
        return lambda x, kind: int8_matmul(g, quantize, x, model.matrices[p + kind], p + kind)

    lookup = embedding_lookup(g, model, head_weight, head_scale)  # (1, S, D)
    normalizer = g.const("embed.normalizer", np.array(math.sqrt(c.hidden_size), np.float32))
    residual = g.op("Mul", [lookup, normalizer], "embedded_scaled")
    hidden, presents = decoder_stack(g, c, residual, layer_matmul, norm, step, ops)
    last = kept_positions(g, hidden)  # (1, keep, D)
    short = int8_matmul(g, quantize, last, model.head, "head", head_weight, head_scale)
    head_ids = g.const("head.token_ids", model.head_ids.astype(np.int64))
    vocab = c.vocab_size
    scatter_logits(g, short, head_ids, vocab)
    last = g.op("Gather", [short, g.int64("minus_one", -1)], "last_short", axis=1)  # (1, L)
    top_k = min(TOP_K, len(model.head_ids))
    values, positions = g.op(
        "TopK", [last, g.int64("top_k", [top_k])], "top", outputs=2, axis=-1, largest=1, sorted=1
    )
    g.nodes.append(helper.make_node("Identity", [values], ["top_values"], name="top_values"))
    g.nodes.append(
        helper.make_node("Gather", [head_ids, positions], ["top_ids"], name="top_ids", axis=0)
    )
    return finish_model(
        g, c, vocab, top_k, presents, rest_inputs(model), KV_CACHE,
        windowed_layers(c, WINDOW_CACHE), new_rows=True,
    )  # fmt: skip


def embedding_lookup(g: GraphBuilder, model: CpuModel, head_weight: str, head_scale: str) -> str:
    """(1, S, D) rows for input_ids: kept tokens from the head, the rest from the fed rows."""
    vocab = model.config.vocab_size
    slot = np.zeros(vocab, np.int64)  # token id -> its column in the head (0 for the rest)
    slot[model.head_ids] = np.arange(len(model.head_ids))
    slots = g.op("Gather", [g.const("embed.slot", slot.astype(np.int32)), "input_ids"], "slots")
    slots = g.op("Cast", [slots], "slots64", to=TensorProto.INT64)  # (1, S)

    in_head = np.zeros(vocab, bool)
    in_head[model.head_ids] = True
    picked = g.op("Gather", [head_weight, slots], "head_rows", axis=1)  # uint8 (D, 1, S)
    picked = g.op("Transpose", [picked], "head_rows_t", perm=[1, 2, 0])  # (1, S, D)
    token_scale = g.op("Gather", [head_scale, slots], "head_row_scale", axis=0)  # (1, S)
    token_scale = g.op("Unsqueeze", [token_scale, g.int64("minus_one_axis", [-1])], "row_scale")
    unsmooth = g.const("embed.unsmooth", (1 / model.head_scale).astype(np.float32))  # (D,)
    stored = g.op("Cast", [picked], "head_rows_stored", to=TensorProto.FLOAT)
    weight_zero = g.const("embed.weight_zero", np.array(WEIGHT_ZERO_POINT, np.float32))
    rows = g.op("Sub", [stored, weight_zero], "head_rows_f")  # the int8 values, exactly
    rows = g.op(
        "Mul", [g.op("Mul", [rows, token_scale], "head_rows_scaled"), unsmooth], "kept_rows"
    )
    if model.rest is None:
        return rows
    rest_rows = g.op(
        "GatherBlockQuantized",
        ["rest_packed", _positions(g), "rest_scales", "rest_zero_points"],
        "rest_rows",
        domain=MS,
        bits=4,
        block_size=model.rest.block,
        gather_axis=0,
        quantize_axis=1,
    )  # (1, S, D): the rows the runner read for this run (pyshell/rest_rows.py)
    kept = g.op("Gather", [g.const("embed.in_head", in_head), "input_ids"], "in_head")
    kept = g.op("Unsqueeze", [kept, g.int64("minus_one_axis2", [-1])], "in_head_col")
    return g.op("Where", [kept, rows, rest_rows], "embedded")


def rest_inputs(model: CpuModel) -> list[onnx.ValueInfoProto]:
    """The rest rows' graph inputs (none when the head keeps every token): one row per
    position, `rest_scales` float32 (S, D / block), `rest_packed` uint8 (S, D / 2),
    `rest_zero_points` uint8 (S, ceil(D / block / 2)).

    Declared without a shape: onnxruntime's shape inference for GatherBlockQuantized
    refuses any zero points whose row count is not a fixed number ("zero points shape
    and scales shape do not match"), and the row count here is the prompt's length.
    """
    if model.rest is None:
        return []
    return [
        helper.make_tensor_value_info("rest_scales", TensorProto.FLOAT, None),
        helper.make_tensor_value_info("rest_packed", TensorProto.UINT8, None),
        helper.make_tensor_value_info("rest_zero_points", TensorProto.UINT8, None),
    ]


def _positions(g: GraphBuilder) -> str:
    """(1, S) int64: 0 … S - 1, the row of each position in the fed rest inputs."""
    length = g.op(
        "Squeeze",
        [g.op("Slice", [g.op("Shape", ["input_ids"], "ids_shape"), *_range(g, 1, 2)], "ids_len")],
        "sequence_length",
    )
    positions = g.op(
        "Range", [g.int64("rest_first", 0), length, g.int64("rest_step", 1)], "positions"
    )  # (S,)
    return g.op("Unsqueeze", [positions, g.int64("rest_axis0", [0])], "positions_row")


def scatter_logits(g: GraphBuilder, short: str, head_ids: str, vocab: int) -> None:
    """`logits` (1, keep, vocab): the kept columns in place, -inf for the rest."""
    shape = g.op(
        "Concat",
        [
            g.op("Slice", [g.op("Shape", [short], "short_shape"), *_range(g, 0, 2)], "keep_dims"),
            g.int64("vocab", [vocab]),
        ],
        "logits_shape",
        axis=0,
    )
    minus_inf = helper.make_tensor("minus_inf", TensorProto.FLOAT, [1], [-np.inf])
    empty = g.op("ConstantOfShape", [shape], "logits_empty", value=minus_inf)
    ids = g.op(
        "Expand",
        [g.op("Reshape", [head_ids, g.int64("ids_shape3", [1, 1, -1])], "ids3"),
         g.op("Shape", [short], "short_shape2")],
        "ids_expanded",
    )  # fmt: skip
    g.nodes.append(
        helper.make_node("ScatterElements", [empty, ids, short], ["logits"], name="logits", axis=2)
    )


def _range(g: GraphBuilder, start: int, stop: int) -> list[str]:
    return [g.int64(g.name("start"), [start]), g.int64(g.name("stop"), [stop])]
