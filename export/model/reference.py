"""A plain numpy float32 forward pass of Gemma 3: the oracle for the ONNX graph.

Given float64 tensors it runs in float64 throughout (export/quantize/smoothing.py's
calibration does, so that its maxima do not depend on numpy's float32 kernels).

No KV cache and no tricks: every position is computed from scratch, so it is
slow but easy to check against the model card. Shapes are noted per line:
S = sequence length, D = hidden size, H = heads, Hd = head dim.
"""

from __future__ import annotations

import math

import numpy as np

from export.model.config import GemmaConfig


def rmsnorm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    """RMSNorm over the last axis; `weight` is the multiplier (Gemma's 1 + w)."""
    variance = np.mean(x.astype(np.result_type(x.dtype, np.float32)) ** 2, axis=-1, keepdims=True)
    return (x / np.sqrt(variance + eps)) * weight


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def rope(x: np.ndarray, positions: np.ndarray, base: float) -> np.ndarray:
    """Rotate-half (NEOX) rotary embedding. x: (H, S, Hd), positions: (S,)."""
    half = x.shape[-1] // 2
    dtype = np.result_type(x.dtype, np.float32)  # float32, or float64 for a float64 pass
    inv_freq = 1.0 / (base ** (np.arange(0, half, dtype=dtype) * 2 / x.shape[-1]))
    angles = positions[:, None].astype(dtype) * inv_freq[None, :]  # (S, Hd/2)
    cos, sin = np.cos(angles), np.sin(angles)
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def attention_mask(seq_len: int, window: int | None) -> np.ndarray:
    """(S, S) bool: query i sees key j when j <= i and, on local layers, i - j < window."""
    i = np.arange(seq_len)[:, None]
    j = np.arange(seq_len)[None, :]
    visible = j <= i
    if window is not None:
        visible &= (i - j) < window
    return visible


def as_is(x: np.ndarray, site: str) -> np.ndarray:
    """The default matrix-input hook: float32 inputs, untouched."""
    return x


def attention(
    x: np.ndarray, tensors: dict, layer: int, config: GemmaConfig, inputs=as_is, cache=as_is
) -> np.ndarray:
    """Self-attention of one layer. x: (S, D) already normed -> (S, D).

    `inputs(x, site)` sees every matrix input ("layers.{i}.attn_in", "….o_in"):
    the CPU graph's check rounds them there, export/quantize/smoothing.py measures them.
    `cache(x, site)` sees the keys and values as a KV cache would hold them
    ("layers.{i}.key", "….value"): the CPU graph's check rounds them to its cache's type.
    """
    c, p = config, f"layers.{layer}."
    seq_len = x.shape[0]
    x = inputs(x, p + "attn_in")
    q = (x @ tensors[p + "q"].T).reshape(seq_len, c.num_heads, c.head_dim)  # (S, H, Hd)
    k = (x @ tensors[p + "k"].T).reshape(seq_len, c.num_kv_heads, c.head_dim)
    v = (x @ tensors[p + "v"].T).reshape(seq_len, c.num_kv_heads, c.head_dim)
    q = rmsnorm(q, tensors[p + "q_norm"], c.rms_norm_eps).transpose(1, 0, 2)  # (H, S, Hd)
    k = rmsnorm(k, tensors[p + "k_norm"], c.rms_norm_eps).transpose(1, 0, 2)
    v = v.transpose(1, 0, 2)
    positions = np.arange(seq_len)
    q = rope(q, positions, c.rope_base(layer))
    k = cache(rope(k, positions, c.rope_base(layer)), p + "key")
    v = cache(v, p + "value")
    group = c.num_heads // c.num_kv_heads
    k = np.repeat(k, group, axis=0)  # (H, S, Hd)
    v = np.repeat(v, group, axis=0)
    scores = (q @ k.transpose(0, 2, 1)) * c.scale  # (H, S, S)
    window = None if c.is_global(layer) else c.sliding_window
    scores = np.where(attention_mask(seq_len, window)[None], scores, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=-1, keepdims=True)
    out = (probs @ v).transpose(1, 0, 2).reshape(seq_len, c.num_heads * c.head_dim)
    return inputs(out, p + "o_in") @ tensors[p + "o"].T  # (S, D)


def mlp(x: np.ndarray, tensors: dict, layer: int, inputs=as_is) -> np.ndarray:
    """Gemma's gated MLP: down(gelu_tanh(gate(x)) * up(x)). x: (S, D) -> (S, D)."""
    p = f"layers.{layer}."
    x = inputs(x, p + "ffn_in")
    gated = gelu_tanh(x @ tensors[p + "gate"].T) * (x @ tensors[p + "up"].T)  # (S, F)
    return inputs(gated, p + "down_in") @ tensors[p + "down"].T


def hidden_states(
    ids: list[int], tensors: dict, config: GemmaConfig, inputs=as_is, cache=as_is
) -> np.ndarray:
    """Final-normed hidden states (S, D) for token ids (BOS included if wanted)."""
    c = config
    x = tensors["embed"][np.asarray(ids)] * np.float32(math.sqrt(c.hidden_size))  # (S, D)
    for layer in range(c.num_layers):
        p = f"layers.{layer}."
        h = attention(
            rmsnorm(x, tensors[p + "attn_norm"], c.rms_norm_eps), tensors, layer, c, inputs, cache
        )
        x = x + rmsnorm(h, tensors[p + "post_attn_norm"], c.rms_norm_eps)
        h = mlp(rmsnorm(x, tensors[p + "ffn_norm"], c.rms_norm_eps), tensors, layer, inputs)
        x = x + rmsnorm(h, tensors[p + "post_ffn_norm"], c.rms_norm_eps)
    return rmsnorm(x, tensors["final_norm"], c.rms_norm_eps)


def logits(
    ids: list[int],
    tensors: dict,
    config: GemmaConfig,
    head: np.ndarray | None = None,
    inputs=as_is,
    cache=as_is,
):
    """(S, vocab) float32 logits; `head` overrides the tied embedding as output matrix."""
    out = head if head is not None else tensors["embed"]
    return inputs(hidden_states(ids, tensors, config, inputs, cache), "head_in") @ out.T
