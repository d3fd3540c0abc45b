"""The skeleton both graphs share: step bookkeeping, one Gemma 3 layer, the layer stack.

The graphs differ in how they multiply by a matrix (`mm`), where their norm
weights live (`norm`) and how they compute the float parts (`ops`: FusedOps for
the WebGPU graph, ExactOps for the CPU graph); the order of operations here is
Gemma 3's, once.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from export.graphs.builder import GraphBuilder
from export.graphs.fused_ops import FusedOps
from export.graphs.step import StepInputs
from export.model.config import GemmaConfig


def step_inputs(g: GraphBuilder, c: GemmaConfig, ops=None, length_layer: int = 0) -> StepInputs:
    """Sequence bookkeeping: positions and RoPE tables come from the past length.

    `ops` (FusedOps unless given) computes the RoPE tables. The past length is that of
    `length_layer`'s cache, which must hold every position (a global layer's, where a
    graph keeps only the window in the sliding layers).
    """
    ops = ops or FusedOps(g, c)
    one, two, zero = g.int64("one", 1), g.int64("two", 2), g.int64("zero", 0)
    seq_len = g.op("Gather", [g.op("Shape", ["input_ids"], "ids_shape"), one], "seq_len", axis=0)
    past_shape = g.op("Shape", [f"past_key_values.{length_layer}.key"], "past_shape")
    past_len = g.op("Gather", [past_shape, two], "past_len", axis=0)
    total = g.op("Add", [past_len, seq_len], "total_len")
    seqlens_k = g.op(
        "Cast",
        [g.op("Reshape", [g.op("Sub", [total, one], "last"), g.int64("shape1", [1])], "last1")],
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
    heads_shape = g.int64(p + "heads_shape", [1, -1, c.num_heads, c.head_dim])
    q = g.op("Reshape", [q, heads_shape], p + "q_heads")
    q = ops.rms(q, norm(p + "q_norm"), p + "q_normed")
    kv_shape = g.int64(p + "kv_shape", [1, -1, c.num_kv_heads, c.head_dim])
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
