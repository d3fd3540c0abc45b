"""The float parts of a layer as onnxruntime's fused contrib kernels (the WebGPU graph).

RMSNorm as SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization,
RotaryEmbedding, GroupQueryAttention (local_window_size on sliding layers) and
FastGelu. export/graphs/exact_ops.py computes the same functions for the CPU graph.
"""

from __future__ import annotations

import numpy as np
from onnx import helper

from export.graphs.builder import MS, GraphBuilder
from export.graphs.step import StepInputs
from export.model.config import GemmaConfig


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
    # In float64, rounded once: numpy's float32 power gives other last bits on CPUs with
    # AVX-512 than on those without, which made the graph's bytes depend on the exporting CPU.
    inv_freq = 1.0 / (base ** (np.arange(0, half, dtype=np.float64) * 2 / config.head_dim))
    freq = g.const(f"rope.{tag}.inv_freq", inv_freq.astype(np.float32).reshape(1, half))
    angles = g.op("Mul", [positions, freq], f"rope.{tag}.angles")  # (S, Hd/2)
    return g.op("Cos", [angles], f"rope.{tag}.cos"), g.op("Sin", [angles], f"rope.{tag}.sin")


class FusedOps:
    """The float parts of a layer as onnxruntime's fused contrib kernels (WebGPU graph).

    export/graphs/exact_ops.py has the CPU graph's counterpart, which computes the same
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
        flat = g.op("Reshape", [x, g.int64(g.name(hint + "_flat"), [1, -1, heads * hd])], hint)
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
