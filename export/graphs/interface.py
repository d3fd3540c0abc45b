"""The interface both graphs share (docs/architecture.md, "The ONNX graphs").

Inputs: `input_ids` (1, S), `num_logits_to_keep`, `past_key_values.{i}.key|value`, and
on a CPU graph whose head keeps a shortlist its rest rows (export/graphs/cpu_graph.py).
Outputs: `logits` (1, keep, vocab), `top_values` / `top_ids` (1, top_k), and the
KV cache: `present.{i}.key|value` (the whole cache after the step: the WebGPU graph),
or `new_key_values.{i}.key|value` (only the step's own rows: the CPU graph, whose
runner keeps the cache itself). A page or a runner can swap one graph for the other.
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from export.graphs.builder import MS, OPSET, GraphBuilder
from export.model.config import GemmaConfig

TOP_K = 64  # next-token candidates each step returns (conteur.json graph.top_k)
# The KV cache's element type as conteur.json names it (`graphs.<backend>.kv_cache`).
KV_TYPES = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16}


def kept_positions(g: GraphBuilder, hidden: str) -> str:
    """(1, keep, D): the last `num_logits_to_keep` positions, the only ones with logits."""
    keep = g.op("Neg", ["num_logits_to_keep"], "keep_neg")
    return g.op(
        "Slice",
        [
            hidden,
            g.op("Reshape", [keep, g.int64("shape1b", [1])], "keep_start"),
            g.int64("int_max", [2**62]),
            g.int64("axis1", [1]),
        ],
        "last_hidden",
    )


def finish_model(
    g: GraphBuilder,
    c: GemmaConfig,
    vocab: int,
    top_k: int,
    presents: list[str],
    extra_inputs: list[onnx.ValueInfoProto] = (),
    kv_cache: str = "float32",
    windowed: frozenset[int] = frozenset(),
    new_rows: bool = False,
):
    """Wrap the nodes in a ModelProto with the inputs and outputs docs/architecture.md lists;
    `extra_inputs` follow `num_logits_to_keep` (the CPU graph's rest rows); `kv_cache`
    is the past and present tensors' element type (KV_TYPES); the `windowed` layers'
    caches hold only the sliding window's last positions (export/graphs/exact_ops.py);
    `new_rows`: the step's own keys and values are the outputs (new_key_values.*), in
    place of the whole cache (present.*), which the runner then keeps itself."""
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "sequence"]),
        helper.make_tensor_value_info("num_logits_to_keep", TensorProto.INT64, []),
        *extra_inputs,
    ]
    kv_type = KV_TYPES[kv_cache]

    def kv(layer: int, length: str) -> list:
        return [1, c.num_kv_heads, "window_" + length if layer in windowed else length, c.head_dim]

    for layer in range(c.num_layers):
        for part in ("key", "value"):
            inputs.append(
                helper.make_tensor_value_info(
                    f"past_key_values.{layer}.{part}", kv_type, kv(layer, "past_sequence")
                )
            )
    graph_outputs = [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "kept", vocab]),
        helper.make_tensor_value_info("top_values", TensorProto.FLOAT, [1, top_k]),
        helper.make_tensor_value_info("top_ids", TensorProto.INT64, [1, top_k]),
    ]
    if new_rows:
        graph_outputs += [
            helper.make_tensor_value_info(
                new_name, kv_type, [1, c.num_kv_heads, "sequence", c.head_dim]
            )
            for new_name in (name.replace("present.", "new_key_values.") for name in presents)
        ]
    else:
        graph_outputs += [
            helper.make_tensor_value_info(
                name, kv_type, kv(int(name.split(".")[1]), "total_sequence")
            )  # present.{layer}.{part}
            for name in presents
        ]
    graph = helper.make_graph(g.nodes, "conteur-gemma3", inputs, graph_outputs, g.initializers)
    model_proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)],
        producer_name="conteur-export",
    )
    model_proto.ir_version = 10
    return model_proto
