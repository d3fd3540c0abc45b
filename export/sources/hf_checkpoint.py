"""Read a Hugging Face Gemma 3 checkpoint folder into canonical float32 weights.

The folder holds `config.json`, one or more `*.safetensors` and
`tokenizer.model`. Hugging Face stores RMSNorm weights as `w` (the model
multiplies by `1 + w`), so 1 is added here to match the GGUF convention.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from export.errors import SourceError
from export.model.config import GemmaConfig
from export.model.weights import Source, Weights, layer_tensor_name
from export.sources.checksum import sha256_file

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}

# Hugging Face name (after "model.layers.N.") -> canonical layer tensor name.
_LAYER_NAMES = {
    "self_attn.q_proj": "q",
    "self_attn.k_proj": "k",
    "self_attn.v_proj": "v",
    "self_attn.o_proj": "o",
    "mlp.gate_proj": "gate",
    "mlp.up_proj": "up",
    "mlp.down_proj": "down",
    "input_layernorm": "attn_norm",
    "self_attn.q_norm": "q_norm",
    "self_attn.k_norm": "k_norm",
    "post_attention_layernorm": "post_attn_norm",
    "pre_feedforward_layernorm": "ffn_norm",
    "post_feedforward_layernorm": "post_ffn_norm",
}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Minimal safetensors reader (F32, F16, BF16) that needs no framework."""
    data = path.read_bytes()
    try:
        (header_len,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + header_len])
    except Exception as exc:
        raise SourceError(f"{path}: not a safetensors file ({exc})") from exc
    body = memoryview(data)[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise SourceError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        if end > len(body):
            raise SourceError(f"{path}: truncated (tensor {name} runs past the end)")
        array = np.frombuffer(body[start:end], dtype=dtype).reshape(info["shape"])
        if info["dtype"] == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = array.astype(np.float32)
    return tensors


def read_config(folder: Path) -> GemmaConfig:
    path = folder / "config.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise SourceError(f"{folder}: missing config.json") from None
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}: invalid JSON ({exc})") from exc
    cfg = raw.get("text_config", raw)
    model_type = cfg.get("model_type", raw.get("model_type"))
    if model_type not in ("gemma3_text", "gemma3"):
        raise SourceError(f"{path}: model_type is {model_type!r}, expected gemma3_text")
    num_heads = int(cfg["num_attention_heads"])
    head_dim = int(cfg.get("head_dim") or cfg["hidden_size"] // num_heads)
    pattern = int(cfg.get("sliding_window_pattern") or 6)
    if "layer_types" in cfg:  # newer configs list every layer instead of a pattern
        types = cfg["layer_types"]
        first_global = types.index("full_attention") if "full_attention" in types else len(types)
        pattern = first_global + 1
    rope = cfg.get("rope_parameters") or {}
    return GemmaConfig(
        num_layers=int(cfg["num_hidden_layers"]),
        hidden_size=int(cfg["hidden_size"]),
        num_heads=num_heads,
        num_kv_heads=int(cfg.get("num_key_value_heads", num_heads)),
        head_dim=head_dim,
        intermediate_size=int(cfg["intermediate_size"]),
        vocab_size=int(cfg["vocab_size"]),
        context_length=int(cfg.get("max_position_embeddings", 32768)),
        sliding_window=int(cfg.get("sliding_window") or 512),
        global_layer_every=pattern,
        rope_base_local=float(
            cfg.get("rope_local_base_freq")
            or rope.get("sliding_attention", {}).get("rope_theta", 10_000.0)
        ),
        rope_base_global=float(
            cfg.get("rope_theta") or rope.get("full_attention", {}).get("rope_theta", 1e6)
        ),
        rms_norm_eps=float(cfg.get("rms_norm_eps", 1e-6)),
        query_scale=float(cfg.get("query_pre_attn_scalar") or head_dim) ** -0.5,
    )


def canonical_name(hf_name: str) -> str | None:
    base = hf_name.removesuffix(".weight")
    for prefix in ("model.language_model.", "language_model.model.", "model."):
        if base.startswith(prefix):
            base = base[len(prefix) :]
            break
    if base == "embed_tokens":
        return "embed"
    if base == "norm":
        return "final_norm"
    if base.startswith("layers."):
        return layer_tensor_name(base.removeprefix("layers."), _LAYER_NAMES)
    return None


def read_hf(folder: Path, progress=None) -> Weights:
    """Load every tensor of a Gemma 3 checkpoint folder as float32."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"{folder}: no such folder")
    config = read_config(folder)
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise SourceError(f"{folder}: missing *.safetensors weights")
    if not (folder / "tokenizer.model").is_file():
        raise SourceError(f"{folder}: missing tokenizer.model")
    tensors: dict[str, np.ndarray] = {}
    for done, path in enumerate(files, 1):
        for name, array in read_safetensors(path).items():
            canonical = canonical_name(name)
            if canonical is None:
                continue
            if canonical.endswith("norm"):
                array = array + np.float32(1.0)  # HF stores w; the model uses 1 + w
            tensors[canonical] = array
        if progress:
            progress(done, len(files), path.name)
    name = folder.name.lower()
    variant = "instruction-tuned" if ("-it" in name or "instruct" in name) else "pretrained"
    source = Source(
        kind="hf",
        path=str(folder),
        sha256=sha256_file(files[0]) if len(files) == 1 else None,
        variant=variant,
        tensor_types={"*": "safetensors"},
    )
    weights = Weights(config=config, tensors=tensors, source=source)
    weights.check_shapes()
    return weights
