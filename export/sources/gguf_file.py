"""Read a llama.cpp GGUF of Gemma 3 into canonical float32 weights.

Conventions (docs/facts/model.md): norm weights are stored as `1 + w` already,
Q/K are in Hugging Face layout, and the embedding is not pre-scaled.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
from gguf.quants import dequantize

from export.errors import SourceError
from export.model.config import GemmaConfig
from export.model.weights import Source, Weights, layer_tensor_name
from export.sources.checksum import sha256_file

GGUF_MAGIC = b"GGUF"

# GGUF tensor name (after "blk.N.") -> canonical layer tensor name.
_LAYER_NAMES = {
    "attn_q": "q",
    "attn_k": "k",
    "attn_v": "v",
    "attn_output": "o",
    "ffn_gate": "gate",
    "ffn_up": "up",
    "ffn_down": "down",
    "attn_norm": "attn_norm",
    "attn_q_norm": "q_norm",
    "attn_k_norm": "k_norm",
    "post_attention_norm": "post_attn_norm",
    "ffn_norm": "ffn_norm",
    "post_ffw_norm": "post_ffn_norm",
}


def open_reader(path: Path):
    """Open a GGUF, turning every way it can be broken into one clear error."""
    if not path.is_file():
        raise SourceError(f"{path}: no such GGUF file")
    with open(path, "rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise SourceError(f"{path}: not a GGUF file (it does not start with 'GGUF')")
    try:
        return gguf.GGUFReader(path)
    except Exception as exc:  # the reader raises many kinds on a cut-off file
        raise SourceError(f"{path}: truncated or corrupt GGUF ({exc})") from exc


def field_value(reader, key: str, default=None):
    field = reader.fields.get(key)
    if field is None:
        return default
    return field.contents()


def read_config(reader, path: Path) -> GemmaConfig:
    arch = field_value(reader, "general.architecture")
    if arch != "gemma3":
        raise SourceError(f"{path}: architecture is {arch!r}, this exporter handles gemma3 only")

    def need(key: str):
        value = field_value(reader, f"gemma3.{key}")
        if value is None:
            raise SourceError(f"{path}: GGUF metadata lacks gemma3.{key}")
        return value

    tokens = field_value(reader, "tokenizer.ggml.tokens")
    if tokens is None:
        raise SourceError(f"{path}: GGUF has no tokenizer (tokenizer.ggml.tokens)")
    num_heads = int(need("attention.head_count"))
    head_dim = int(field_value(reader, "gemma3.attention.key_length", 0)) or (
        int(need("embedding_length")) // num_heads
    )
    return GemmaConfig(
        num_layers=int(need("block_count")),
        hidden_size=int(need("embedding_length")),
        num_heads=num_heads,
        num_kv_heads=int(need("attention.head_count_kv")),
        head_dim=head_dim,
        intermediate_size=int(need("feed_forward_length")),
        vocab_size=len(tokens),
        context_length=int(need("context_length")),
        sliding_window=int(field_value(reader, "gemma3.attention.sliding_window", 512)),
        global_layer_every=int(field_value(reader, "gemma3.attention.sliding_window_pattern", 6)),
        rope_base_global=float(field_value(reader, "gemma3.rope.freq_base", 1_000_000.0)),
        rms_norm_eps=float(need("attention.layer_norm_rms_epsilon")),
        query_scale=head_dim**-0.5,
    )


def canonical_name(gguf_name: str) -> str | None:
    base = gguf_name.removesuffix(".weight")
    if base == "token_embd":
        return "embed"
    if base == "output_norm":
        return "final_norm"
    if base.startswith("blk."):
        return layer_tensor_name(base.removeprefix("blk."), _LAYER_NAMES)
    return None


def variant_of(reader) -> str:
    """GGUF carries no explicit flag: llama.cpp keeps "-it"/"instruct" in the name."""
    names = " ".join(
        str(field_value(reader, key, "")) for key in ("general.name", "general.finetune")
    ).lower()
    return "instruction-tuned" if ("-it" in names or "instruct" in names) else "pretrained"


def read_gguf(path: Path, progress=None) -> tuple[Weights, object]:
    """Dequantize every tensor of a Gemma 3 GGUF to float32.

    Returns the weights and the open reader (the tokenizer fields live there).
    `progress(done, total, name)` is called after each tensor.
    """
    path = Path(path)
    reader = open_reader(path)
    config = read_config(reader, path)
    tensors: dict[str, np.ndarray] = {}
    types: dict[str, str] = {}
    total = len(reader.tensors)
    for done, tensor in enumerate(reader.tensors, 1):
        name = canonical_name(tensor.name)
        if name is None:
            continue
        try:
            values = dequantize(tensor.data, tensor.tensor_type)
        except Exception as exc:
            raise SourceError(f"{path}: cannot read tensor {tensor.name} ({exc})") from exc
        shape = tuple(int(d) for d in reversed(tensor.shape))  # GGUF lists dims innermost first
        tensors[name] = np.ascontiguousarray(values, dtype=np.float32).reshape(shape)
        types[name] = tensor.tensor_type.name
        if progress:
            progress(done, total, tensor.name)
    source = Source(
        kind="gguf",
        path=str(path),
        sha256=sha256_file(path),
        variant=variant_of(reader),
        tensor_types=types,
    )
    weights = Weights(config=config, tensors=tensors, source=source)
    weights.check_shapes()
    return weights, reader
