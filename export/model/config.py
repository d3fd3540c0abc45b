"""The model's shape and conventions, as the exporter and the reference need them."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class GemmaConfig:
    """Gemma 3 text-decoder hyper-parameters.

    Values that the GGUF metadata does not carry (local RoPE base, the layer
    pattern, the query scale) default to Gemma 3's published values.
    """

    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    context_length: int = 32768
    sliding_window: int = 512
    global_layer_every: int = 6  # layer i is global when i % every == every - 1
    rope_base_local: float = 10_000.0
    rope_base_global: float = 1_000_000.0
    rms_norm_eps: float = 1e-6
    query_scale: float | None = None  # None: 1 / sqrt(head_dim)

    @property
    def scale(self) -> float:
        """Multiplier applied to q·k (Gemma 3: query_pre_attn_scalar ** -0.5)."""
        return self.query_scale if self.query_scale is not None else self.head_dim**-0.5

    def is_global(self, layer: int) -> bool:
        """Global layers attend to everything; the others use the sliding window."""
        return layer % self.global_layer_every == self.global_layer_every - 1

    def rope_base(self, layer: int) -> float:
        return self.rope_base_global if self.is_global(layer) else self.rope_base_local

    def to_json(self) -> dict:
        data = asdict(self)
        data["query_scale"] = self.scale
        return data
