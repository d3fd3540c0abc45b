"""StepInputs: the per-step tensors every decoder layer reads (built in graphs/decoder.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StepInputs:
    """Per-step tensors that every decoder layer reads."""

    seqlens_k: str  # int32 (1,): total length - 1
    total_len: str  # int32 scalar
    positions: str  # int64 (1, S): rows of this step's cos/sin tables
    local_rope: tuple[str, str]  # cos, sin (S, Hd/2), base 10,000
    global_rope: tuple[str, str]  # cos, sin (S, Hd/2), base 1e6
    absolute: str = ""  # int64 (S,): this step's positions in the sequence
    total: str = ""  # int64 scalar: past + this step's length
