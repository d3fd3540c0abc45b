"""The one interface between the generation loop and a model runtime.

The same loop drives onnxruntime in CPython (`pyshell.onnx_runner.OnnxRunner`)
and onnxruntime-web in the page (a JavaScript object reached through Pyodide's
FFI). Both keep the KV cache themselves and hand back only the next-token
candidates the graph selected (`top_ids`, `top_values`), so a step moves 64
numbers between runtimes instead of a 262,144-wide logits row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pyshell.errors import ContextFullError

__all__ = ["Candidates", "ContextFullError", "Runner"]


@dataclass(frozen=True)
class Candidates:
    """Next-token candidates at the last position, best first.

    `scores` are raw logits (before temperature or any penalty), so the
    sampler can reproduce what a full-vocabulary sampler would do within
    these candidates.
    """

    ids: list[int]  # (k,) token ids
    scores: list[float]  # (k,) logits, non-increasing

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.scores):
            raise ValueError(
                f"candidates need one score per id ({len(self.ids)} ids, {len(self.scores)} scores)"
            )
        if not self.ids:
            raise ValueError("the runner returned no candidates")

    @classmethod
    def from_sequences(cls, ids: Sequence[int], scores: Sequence[float]) -> Candidates:
        """Copy any sequences (numpy rows, JS typed arrays) into plain Python lists."""
        return cls([int(i) for i in ids], [float(s) for s in scores])


@runtime_checkable
class Runner(Protocol):
    """A model runtime holding its own KV cache.

    `step(ids)` appends `ids` to the cached sequence and returns the
    candidates for the token after the last one; `reset()` empties the cache.
    A runner may raise `ContextFullError` when the cached sequence would
    exceed `context_length`; the loop keeps within it.
    """

    context_length: int  # most tokens the runner accepts in total

    async def reset(self) -> None: ...

    async def step(self, ids: list[int]) -> Candidates: ...
