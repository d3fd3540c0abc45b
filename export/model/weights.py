"""The model's weights in one canonical layout, whatever file they came from.

Matrices are float32 `(out_features, in_features)` like a Linear layer's
weight; norm weights are the *multiplier* (Gemma's `1 + w`), so the GGUF's
values are used as stored and a Hugging Face checkpoint's get 1 added.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from export.errors import SourceError
from export.model.config import GemmaConfig

# Per-layer tensor names and what they are: the one list of matrix kinds (the
# schemes, both graphs and the CPU weights iterate over it).
LAYER_MATRICES = ("q", "k", "v", "o", "gate", "up", "down")
LAYER_NORMS = ("attn_norm", "q_norm", "k_norm", "post_attn_norm", "ffn_norm", "post_ffn_norm")


def layer_tensor_name(numbered: str, names: dict[str, str]) -> str | None:
    """ "{layer}.{a source's name}" -> "layers.{layer}.{canonical name}", None if unknown."""
    layer, rest = numbered.split(".", 1)
    return f"layers.{layer}.{names[rest]}" if rest in names else None


@dataclass
class Source:
    """Where the weights came from, for conteur.json and the NOTICE."""

    kind: str  # "gguf" or "hf"
    path: str
    sha256: str | None = None
    variant: str = "pretrained"  # or "instruction-tuned"
    tensor_types: dict[str, str] = field(default_factory=dict)  # name -> storage type


@dataclass
class Weights:
    """All float32 weights of a Gemma 3 decoder plus its config."""

    config: GemmaConfig
    tensors: dict[str, np.ndarray]
    source: Source

    def check_shapes(self) -> None:
        """Fail early with a clear message if a tensor has the wrong shape."""
        c = self.config
        q_dim, kv_dim = c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim
        want = {"embed": (c.vocab_size, c.hidden_size), "final_norm": (c.hidden_size,)}
        for i in range(c.num_layers):
            p = f"layers.{i}."
            want |= {
                p + "q": (q_dim, c.hidden_size),
                p + "k": (kv_dim, c.hidden_size),
                p + "v": (kv_dim, c.hidden_size),
                p + "o": (c.hidden_size, q_dim),
                p + "gate": (c.intermediate_size, c.hidden_size),
                p + "up": (c.intermediate_size, c.hidden_size),
                p + "down": (c.hidden_size, c.intermediate_size),
                p + "q_norm": (c.head_dim,),
                p + "k_norm": (c.head_dim,),
            }
            for norm in ("attn_norm", "post_attn_norm", "ffn_norm", "post_ffn_norm"):
                want[p + norm] = (c.hidden_size,)
        for name, shape in want.items():
            if name not in self.tensors:
                raise SourceError(f"the model has no tensor for {name}")
            if tuple(self.tensors[name].shape) != shape:
                raise SourceError(
                    f"tensor {name} has shape {tuple(self.tensors[name].shape)}, expected {shape}"
                )
