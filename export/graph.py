"""Build the ONNX decoder graph from quantized weights (onnxruntime contrib ops).

One step of the decoder, batch 1, float32 activations:
  input_ids (1, S) + past KV (1, Hkv, P, Hd) per layer
  -> top-k candidates and logits for the last `num_logits_to_keep` positions
  -> present KV (1, Hkv, P + S, Hd) per layer.
Ops: GatherBlockQuantized (embedding lookup, one per vocabulary band), MatMulNBits (every matrix and the
tied head, reading the same bands' bytes), SimplifiedLayerNormalization and
SkipSimplifiedLayerNormalization (RMSNorm), RotaryEmbedding, GroupQueryAttention
(local_window_size on sliding layers), FastGelu. docs/architecture.md lists
the inputs and outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from export.config import GemmaConfig
from export.quantize import QuantizedMatrix, nibble_planes

MS = "com.microsoft"
OPSET = 21
TOP_K = 64


@dataclass
class QuantizedModel:
    """Everything the graph needs: quantized matrices and float32 norms."""

    config: GemmaConfig
    matrices: dict[str, QuantizedMatrix]  # "layers.{i}.{q,k,...}"
    norms: dict[str, np.ndarray]  # "final_norm" and "layers.{i}.{..._norm}"
    embedding: list[tuple[int, QuantizedMatrix]]  # (first row, rows) bands of the tied table


@dataclass
class GraphBuilder:
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    counter: int = 0

    def name(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def const(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, outputs: int = 1, domain="", **attrs):
        """Add one node; returns its output name (or names when outputs > 1)."""
        names = [self.name(hint) for _ in range(outputs)]
        self.nodes.append(
            helper.make_node(
                op_type, inputs, names, name=self.name(op_type), domain=domain, **attrs
            )
        )
        return names[0] if outputs == 1 else names

    def op_named(self, op_type: str, inputs: list[str], output: str, **attrs) -> str:
        """Add one node whose output has a fixed name (a graph output such as present.*)."""
        self.nodes.append(
            helper.make_node(op_type, inputs, [output], name=self.name(op_type), **attrs)
        )
        return output


@dataclass
class Plane:
    """One 4-bit MatMulNBits / GatherBlockQuantized operand of a stored matrix."""

    packed: str  # uint8 (N, K / 2): 4-bit values, low nibble first
    scales: str  # float32 (N, K / block)
    zeros: list  # [] (default zero point 8) or [packed zero points]


@dataclass
class StoredMatrix:
    """A quantized matrix in the graph: one 4-bit plane, or two for 8 bit.

    An 8-bit matrix is computed as hi * 16 + lo (see export/quantize.py), so
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


def rms(g: GraphBuilder, x: str, weight: str, eps: float, hint: str) -> str:
    return g.op(
        "SimplifiedLayerNormalization", [x, weight], hint, axis=-1, epsilon=eps, stash_type=1
    )


def skip_rms(g: GraphBuilder, x: str, skip: str, weight: str, eps: float) -> tuple[str, str]:
    """RMSNorm(x + skip) and the sum itself (the new residual stream)."""
    normed, _, _, total = g.op(
        "SkipSimplifiedLayerNormalization",
        [x, skip, weight],
        "skip_norm",
        outputs=4,
        domain=MS,
        epsilon=eps,
    )
    return normed, total


def rope_tables(g: GraphBuilder, positions: str, config: GemmaConfig, base: float, tag: str):
    """cos/sin caches (S, Hd/2) for just this step's positions."""
    half = config.head_dim // 2
    inv_freq = 1.0 / (base ** (np.arange(0, half, dtype=np.float32) * 2 / config.head_dim))
    freq = g.const(f"rope.{tag}.inv_freq", inv_freq.astype(np.float32).reshape(1, half))
    angles = g.op("Mul", [positions, freq], f"rope.{tag}.angles")  # (S, Hd/2)
    return g.op("Cos", [angles], f"rope.{tag}.cos"), g.op("Sin", [angles], f"rope.{tag}.sin")


@dataclass
class StepInputs:
    """Per-step tensors that every decoder layer reads."""

    seqlens_k: str  # int32 (1,): total length - 1
    total_len: str  # int32 scalar
    positions: str  # int64 (1, S): rows of this step's cos/sin tables
    local_rope: tuple[str, str]  # cos, sin (S, Hd/2), base 10,000
    global_rope: tuple[str, str]  # cos, sin (S, Hd/2), base 1e6
    absolute: str = ""  # int64 (S,): this step's positions in the sequence
    total: str = ""  # int64 scalar: past + this step's length


def _i64(g: GraphBuilder, name: str, values) -> str:
    return g.const(name, np.array(values, np.int64))


class FusedOps:
    """The float parts of a layer as onnxruntime's fused contrib kernels (WebGPU graph).

    export/exact_ops.py has the CPU graph's counterpart, which computes the same
    functions so that x86 and WebAssembly give bit-identical results.
    """

    def __init__(self, g: GraphBuilder, c: GemmaConfig):
        self.g, self.c = g, c

    def rope_tables(self, positions: str, base: float, tag: str) -> tuple[str, str]:
        return rope_tables(self.g, positions, self.c, base, tag)

    def rms(self, x: str, weight: str, hint: str) -> str:
        return rms(self.g, x, weight, float(self.c.rms_norm_eps), hint)

    def skip_rms(self, x: str, skip: str, weight: str) -> tuple[str, str]:
        return skip_rms(self.g, x, skip, weight, float(self.c.rms_norm_eps))

    def rope(self, x: str, heads: int, tables: tuple[str, str], step: StepInputs, hint: str) -> str:
        """x (1, S, heads, Hd) -> (1, S, heads * Hd), rotated (not interleaved) by this
        step's tables."""
        g, hd = self.g, self.c.head_dim
        flat = g.op("Reshape", [x, _i64(g, g.name(hint + "_flat"), [1, -1, heads * hd])], hint)
        cos, sin = tables
        return g.op(
            "RotaryEmbedding", [flat, step.positions, cos, sin], hint, domain=MS,
            num_heads=heads, rotary_embedding_dim=hd, interleaved=0,
        )  # fmt: skip

    def attention(self, layer: int, q: str, k: str, v: str, step: StepInputs) -> str:
        """GQA over the past and this step's keys; writes present.{layer}.key/value."""
        g, c = self.g, self.c
        attn = g.name(f"layers.{layer}.attn")
        window = -1 if c.is_global(layer) else c.sliding_window  # ORT: W keys, p-W+1 .. p
        inputs = [q, k, v, f"past_key_values.{layer}.key", f"past_key_values.{layer}.value",
                  step.seqlens_k, step.total_len]  # fmt: skip
        g.nodes.append(
            helper.make_node(
                "GroupQueryAttention", inputs,
                [attn, f"present.{layer}.key", f"present.{layer}.value"],
                name=g.name("GroupQueryAttention"), domain=MS, num_heads=c.num_heads,
                kv_num_heads=c.num_kv_heads, scale=float(c.scale), local_window_size=window,
                do_rotary=0,
            )
        )  # fmt: skip
        return attn

    def gelu(self, x: str, hint: str) -> str:
        """gelu with the tanh approximation (Gemma's gelu_pytorch_tanh)."""
        return self.g.op("FastGelu", [x], hint, domain=MS)


def decoder_layer(
    g, c: GemmaConfig, layer: int, hidden: str, residual: str, mm, norm, step: StepInputs,
    ops=None,
) -> tuple[str, str, list[str]]:  # fmt: skip
    """One Gemma 3 layer. `hidden` is the normed input, `residual` the stream.

    `mm(x, kind)` multiplies by the layer's matrix `kind` and `norm(name)` gives a
    norm weight, so other layouts (bench/transformers_model.py) reuse the layer;
    `ops` computes the float parts (FusedOps unless given).
    Returns the next layer's normed input, the new stream and the present KV names.
    """
    ops = ops or FusedOps(g, c)
    p = f"layers.{layer}."
    # Attention: q/k RMSNorm over head_dim, then RoPE, then GQA with the KV cache.
    q = mm(hidden, "q")  # (1, S, H * Hd)
    k = mm(hidden, "k")  # (1, S, Hkv * Hd)
    v = mm(hidden, "v")
    heads_shape = _i64(g, p + "heads_shape", [1, -1, c.num_heads, c.head_dim])
    q = g.op("Reshape", [q, heads_shape], p + "q_heads")
    q = ops.rms(q, norm(p + "q_norm"), p + "q_normed")
    kv_shape = _i64(g, p + "kv_shape", [1, -1, c.num_kv_heads, c.head_dim])
    k = g.op("Reshape", [k, kv_shape], p + "k_heads")
    k = ops.rms(k, norm(p + "k_norm"), p + "k_normed")
    tables = step.global_rope if c.is_global(layer) else step.local_rope
    q = ops.rope(q, c.num_heads, tables, step, p + "q_rot")  # (1, S, H * Hd)
    k = ops.rope(k, c.num_kv_heads, tables, step, p + "k_rot")
    attn = ops.attention(layer, q, k, v, step)
    attn_out = ops.rms(mm(attn, "o"), norm(p + "post_attn_norm"), p + "attn_normed")
    hidden, residual = ops.skip_rms(attn_out, residual, norm(p + "ffn_norm"))

    # MLP: down(gelu_tanh(gate(x)) * up(x)).
    gated = ops.gelu(mm(hidden, "gate"), p + "gelu")
    mlp_out = mm(g.op("Mul", [gated, mm(hidden, "up")], p + "gated"), "down")
    mlp_out = ops.rms(mlp_out, norm(p + "post_ffn_norm"), p + "mlp_normed")
    next_norm = (
        norm(f"layers.{layer + 1}.attn_norm") if layer + 1 < c.num_layers else norm("final_norm")
    )
    hidden, residual = ops.skip_rms(mlp_out, residual, next_norm)
    return hidden, residual, [f"present.{layer}.key", f"present.{layer}.value"]


def build_graph(model: QuantizedModel, external_data: bool = True) -> onnx.ModelProto:
    """The decoder as an ONNX ModelProto (weights still in memory): the WebGPU graph.

    Every matrix and the tied head run MatMulNBits on the embedding bands' bytes.
    export/cpu_graph.py builds the CPU (WASM) graph from the same pieces.
    """
    c = model.config
    g = GraphBuilder()
    step = step_inputs(g, c)
    bands = [add_band(g, f"embed.{i}", start, m) for i, (start, m) in enumerate(model.embedding)]
    norm = norm_constants(g, model.norms)

    def layer_matmul(layer: int):
        p = f"layers.{layer}."
        w = {kind: store_matrix(g, p + kind, model.matrices[p + kind]) for kind in MATRIX_KINDS}
        return lambda x, kind: matmul(g, x, w[kind], p + kind)

    hidden, presents = decoder_stack(g, c, embed(g, c, bands), layer_matmul, norm, step)
    last_hidden = kept_positions(g, hidden)  # (1, keep, D)
    parts = [matmul(g, last_hidden, band.stored, f"head.{band.start}") for band in bands]
    if len(parts) == 1:
        g.nodes.append(helper.make_node("Identity", parts, ["logits"], name="logits"))
    else:
        g.nodes.append(helper.make_node("Concat", parts, ["logits"], name="logits", axis=-1))
    vocab = sum(band.rows for band in bands)
    last_logits = g.op("Gather", ["logits", _i64(g, "minus_one", -1)], "last_logits", axis=1)
    top_k = min(TOP_K, vocab)
    g.nodes.append(
        helper.make_node(
            "TopK",
            [last_logits, _i64(g, "top_k", [top_k])],
            ["top_values", "top_ids"],
            name="top_k",
            axis=-1,
            largest=1,
            sorted=1,
        )
    )
    return finish_model(g, c, vocab, top_k, presents)


MATRIX_KINDS = ("q", "k", "v", "o", "gate", "up", "down")


def step_inputs(g: GraphBuilder, c: GemmaConfig, ops=None) -> StepInputs:
    """Sequence bookkeeping: positions and RoPE tables come from the past length.

    `ops` (FusedOps unless given) computes the RoPE tables.
    """
    ops = ops or FusedOps(g, c)
    one, two, zero = _i64(g, "one", 1), _i64(g, "two", 2), _i64(g, "zero", 0)
    seq_len = g.op("Gather", [g.op("Shape", ["input_ids"], "ids_shape"), one], "seq_len", axis=0)
    past_shape = g.op("Shape", ["past_key_values.0.key"], "past_shape")
    past_len = g.op("Gather", [past_shape, two], "past_len", axis=0)
    total = g.op("Add", [past_len, seq_len], "total_len")
    seqlens_k = g.op(
        "Cast",
        [g.op("Reshape", [g.op("Sub", [total, one], "last"), _i64(g, "shape1", [1])], "last1")],
        "seqlens_k",
        to=TensorProto.INT32,
    )
    total_i32 = g.op("Cast", [total], "total_i32", to=TensorProto.INT32)
    positions = g.op("Range", [past_len, total, one], "positions")  # (S,) absolute
    positions_f = g.op(
        "Unsqueeze",
        [g.op("Cast", [positions], "positions_f", to=TensorProto.FLOAT), one],
        "positions_col",
    )  # (S, 1)
    local_rope = ops.rope_tables(positions_f, c.rope_base_local, "local")
    global_rope = ops.rope_tables(positions_f, c.rope_base_global, "global")
    step_positions = g.op(
        "Unsqueeze", [g.op("Range", [zero, seq_len, one], "step_range"), zero], "step_positions"
    )  # (1, S): rows of this step's cos/sin tables
    return StepInputs(
        seqlens_k, total_i32, step_positions, local_rope, global_rope, positions, total
    )


def norm_constants(g: GraphBuilder, norms: dict[str, np.ndarray], dtype=np.float32):
    """`norm(name)`: the norm weight as a graph constant of `dtype`, added once."""
    added: dict[str, str] = {}

    def norm(name: str) -> str:
        if name not in added:
            added[name] = g.const(name, norms[name].astype(dtype))
        return added[name]

    return norm


def embed(g: GraphBuilder, c: GemmaConfig, bands: list[Band]) -> str:
    """(1, S, D) the residual stream's start: band lookup scaled by sqrt(hidden)."""
    lookup = embedding_lookup(g, bands)
    normalizer = g.const("embed.normalizer", np.array(math.sqrt(c.hidden_size), np.float32))
    return g.op("Mul", [lookup, normalizer], "embedded_scaled")


def decoder_stack(
    g, c: GemmaConfig, residual: str, layer_matmul, norm, step: StepInputs, ops=None
):  # fmt: skip
    """All layers; `layer_matmul(layer)` gives that layer's `mm(x, kind)`.

    Returns the final-normed hidden states (1, S, D) and the present KV names.
    """
    ops = ops or FusedOps(g, c)
    hidden = ops.rms(residual, norm("layers.0.attn_norm"), "attn_in")
    presents = []
    for layer in range(c.num_layers):
        mm = layer_matmul(layer)
        hidden, residual, kv = decoder_layer(g, c, layer, hidden, residual, mm, norm, step, ops)
        presents += kv
    return hidden, presents


def kept_positions(g: GraphBuilder, hidden: str) -> str:
    """(1, keep, D): the last `num_logits_to_keep` positions, the only ones with logits."""
    keep = g.op("Neg", ["num_logits_to_keep"], "keep_neg")
    return g.op(
        "Slice",
        [
            hidden,
            g.op("Reshape", [keep, _i64(g, "shape1b", [1])], "keep_start"),
            _i64(g, "int_max", [2**62]),
            _i64(g, "axis1", [1]),
        ],
        "last_hidden",
    )


def finish_model(g: GraphBuilder, c: GemmaConfig, vocab: int, top_k: int, presents: list[str]):
    """Wrap the nodes in a ModelProto with the inputs and outputs docs/architecture.md lists."""
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "sequence"]),
        helper.make_tensor_value_info("num_logits_to_keep", TensorProto.INT64, []),
    ]
    kv = [1, c.num_kv_heads, "past_sequence", c.head_dim]
    kv_out = [1, c.num_kv_heads, "total_sequence", c.head_dim]
    for layer in range(c.num_layers):
        for part in ("key", "value"):
            inputs.append(
                helper.make_tensor_value_info(
                    f"past_key_values.{layer}.{part}", TensorProto.FLOAT, kv
                )
            )
    graph_outputs = [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "kept", vocab]),
        helper.make_tensor_value_info("top_values", TensorProto.FLOAT, [1, top_k]),
        helper.make_tensor_value_info("top_ids", TensorProto.INT64, [1, top_k]),
    ] + [helper.make_tensor_value_info(name, TensorProto.FLOAT, kv_out) for name in presents]
    graph = helper.make_graph(g.nodes, "conteur-gemma3", inputs, graph_outputs, g.initializers)
    model_proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)],
        producer_name="conteur-export",
    )
    model_proto.ir_version = 10
    return model_proto


@dataclass
class Band:
    """One stored band of the tied embedding: rows [start, start + rows)."""

    start: int
    stored: StoredMatrix

    @property
    def rows(self) -> int:
        return self.stored.matrix.shape[0]


def add_band(g: GraphBuilder, name: str, start: int, m: QuantizedMatrix) -> Band:
    return Band(start, store_matrix(g, name, m))


def embedding_lookup(g: GraphBuilder, bands: list[Band]) -> str:
    """(1, S, D) rows for input_ids, each id looked up in the band that holds it."""
    if len(bands) == 1:
        return gather(g, bands[0].stored, "input_ids", "embedded")
    result = None
    for band in reversed(bands):  # later bands first, earlier ones override
        rows = band.rows
        start = g.const(f"embed.start_{band.start}", np.array(band.start, np.int64))
        last = g.const(f"embed.last_{band.start}", np.array(rows - 1, np.int64))
        zero = g.const(f"embed.zero_{band.start}", np.array(0, np.int64))
        local = g.op("Sub", ["input_ids", start], "band_ids")
        clamped = g.op("Min", [g.op("Max", [local, zero], "band_lo"), last], "band_ids_clamped")
        rows_out = gather(g, band.stored, clamped, "embedded")
        if result is None:
            result = rows_out
            continue
        inside = g.op(
            "Less",
            [
                "input_ids",
                g.const(f"embed.stop_{band.start}", np.array(band.start + rows, np.int64)),
            ],
            "in_band",
        )
        inside = g.op(
            "Unsqueeze",
            [inside, g.const(f"embed.axis_{band.start}", np.array([-1], np.int64))],
            "in_band_col",
        )
        result = g.op("Where", [inside, rows_out, result], "embedded_sel")
    return result
