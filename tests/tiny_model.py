"""Write a tiny random Gemma-3-shaped model, as a GGUF and as a Hugging Face folder.

Both files hold the same weights, so both exports must compute the same logits.
Six layers so that layer 5 is global (Gemma's 6-layer pattern); the sliding
window (8) is shorter than the test prompts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from export.model.config import GemmaConfig
from export.model.weights import LAYER_NORMS

GGUF_LAYER = {
    "q": "attn_q",
    "k": "attn_k",
    "v": "attn_v",
    "o": "attn_output",
    "gate": "ffn_gate",
    "up": "ffn_up",
    "down": "ffn_down",
    "attn_norm": "attn_norm",
    "q_norm": "attn_q_norm",
    "k_norm": "attn_k_norm",
    "post_attn_norm": "post_attention_norm",
    "ffn_norm": "ffn_norm",
    "post_ffn_norm": "post_ffw_norm",
}
HF_LAYER = {
    "q": "self_attn.q_proj",
    "k": "self_attn.k_proj",
    "v": "self_attn.v_proj",
    "o": "self_attn.o_proj",
    "gate": "mlp.gate_proj",
    "up": "mlp.up_proj",
    "down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "q_norm": "self_attn.q_norm",
    "k_norm": "self_attn.k_norm",
    "post_attn_norm": "post_attention_layernorm",
    "ffn_norm": "pre_feedforward_layernorm",
    "post_ffn_norm": "post_feedforward_layernorm",
}


def tiny_config(vocab_size: int) -> GemmaConfig:
    return GemmaConfig(
        num_layers=6,
        hidden_size=64,
        num_heads=4,
        num_kv_heads=1,
        head_dim=16,
        intermediate_size=128,
        vocab_size=vocab_size,
        context_length=256,
        sliding_window=8,
    )


def random_tensors(config: GemmaConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Canonical float32 weights; norms as HF stores them (w, the model uses 1 + w)."""
    rng = np.random.default_rng(seed)
    c = config
    q_dim, kv_dim = c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim
    shapes = {
        "q": (q_dim, c.hidden_size),
        "k": (kv_dim, c.hidden_size),
        "v": (kv_dim, c.hidden_size),
        "o": (c.hidden_size, q_dim),
        "gate": (c.intermediate_size, c.hidden_size),
        "up": (c.intermediate_size, c.hidden_size),
        "down": (c.hidden_size, c.intermediate_size),
    }
    tensors = {
        "embed": rng.normal(0, 1, (c.vocab_size, c.hidden_size)).astype(np.float32),
        "final_norm": rng.normal(0, 0.1, c.hidden_size).astype(np.float32),
    }
    for i in range(c.num_layers):
        for kind, shape in shapes.items():
            tensors[f"layers.{i}.{kind}"] = rng.normal(0, 0.2, shape).astype(np.float32)
        for kind in LAYER_NORMS:
            size = c.head_dim if kind in ("q_norm", "k_norm") else c.hidden_size
            tensors[f"layers.{i}.{kind}"] = rng.normal(0, 0.1, size).astype(np.float32)
    return tensors


def write_gguf(path: Path, config: GemmaConfig, tensors: dict, tokenizer_fields: dict) -> None:
    """A llama.cpp-style GGUF: norms stored as 1 + w, embedding in Q8_0."""
    import gguf

    c = config
    writer = gguf.GGUFWriter(str(path), "gemma3")
    writer.add_name("tiny-gemma-3")
    writer.add_context_length(c.context_length)
    writer.add_embedding_length(c.hidden_size)
    writer.add_block_count(c.num_layers)
    writer.add_feed_forward_length(c.intermediate_size)
    writer.add_head_count(c.num_heads)
    writer.add_head_count_kv(c.num_kv_heads)
    writer.add_key_length(c.head_dim)
    writer.add_value_length(c.head_dim)
    writer.add_layer_norm_rms_eps(c.rms_norm_eps)
    writer.add_rope_freq_base(c.rope_base_global)
    writer.add_sliding_window(c.sliding_window)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokenizer_fields["tokens"])
    writer.add_token_scores(tokenizer_fields["scores"])
    writer.add_token_types(tokenizer_fields["token_types"])
    writer.add_bos_token_id(tokenizer_fields["bos"])
    writer.add_eos_token_id(tokenizer_fields["eos"])
    writer.add_unk_token_id(tokenizer_fields["unk"])
    writer.add_pad_token_id(tokenizer_fields["pad"])
    embed = gguf.quants.quantize(tensors["embed"], gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("token_embd.weight", embed, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("output_norm.weight", tensors["final_norm"] + 1)
    for i in range(c.num_layers):
        for kind, name in GGUF_LAYER.items():
            value = tensors[f"layers.{i}.{kind}"]
            writer.add_tensor(f"blk.{i}.{name}.weight", value + 1 if "norm" in kind else value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def gguf_embedding(tensors: dict) -> np.ndarray:
    """The embedding as the GGUF stores it (Q8_0 round trip), for the HF twin."""
    import gguf

    q = gguf.quants.quantize(tensors["embed"], gguf.GGMLQuantizationType.Q8_0)
    return gguf.quants.dequantize(q, gguf.GGMLQuantizationType.Q8_0).astype(np.float32)


def write_hf(folder: Path, config: GemmaConfig, tensors: dict, tokenizer_model: Path) -> None:
    """A Hugging Face checkpoint folder with the same weights (norms stored as w)."""
    from safetensors.numpy import save_file

    c = config
    folder.mkdir(parents=True, exist_ok=True)
    hf = {
        "model.embed_tokens.weight": gguf_embedding(tensors),
        "model.norm.weight": tensors["final_norm"],
    }
    for i in range(c.num_layers):
        for kind, name in HF_LAYER.items():
            hf[f"model.layers.{i}.{name}.weight"] = tensors[f"layers.{i}.{kind}"]
    save_file(hf, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(
        json.dumps(
            {
                "architectures": ["Gemma3ForCausalLM"],
                "model_type": "gemma3_text",
                "hidden_size": c.hidden_size,
                "intermediate_size": c.intermediate_size,
                "num_hidden_layers": c.num_layers,
                "num_attention_heads": c.num_heads,
                "num_key_value_heads": c.num_kv_heads,
                "head_dim": c.head_dim,
                "vocab_size": c.vocab_size,
                "max_position_embeddings": c.context_length,
                "rms_norm_eps": c.rms_norm_eps,
                "rope_theta": c.rope_base_global,
                "rope_local_base_freq": c.rope_base_local,
                "sliding_window": c.sliding_window,
                "sliding_window_pattern": c.global_layer_every,
                "query_pre_attn_scalar": c.head_dim,
                "hidden_activation": "gelu_pytorch_tanh",
            },
            indent=2,
        )
    )
    (folder / "tokenizer.model").write_bytes(Path(tokenizer_model).read_bytes())
