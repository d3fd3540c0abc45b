"""The CPython runner: the exported ONNX graph on onnxruntime's CPU provider.

It implements `pyshell.runner.Runner` for the CLI and the tests, mirroring
what the page's JavaScript runner does with onnxruntime-web: feed only the
new tokens, keep each step's `present.*` outputs as the next step's
`past_key_values.*`, ask for one position of logits (`num_logits_to_keep` = 1)
and fetch only `top_values` / `top_ids`, never the 262,144-wide logits row.

This is the one pyshell module that needs numpy and onnxruntime; nothing else
imports it, so the package stays dependency-free for Pyodide.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from pyshell.config import ModelConfig
from pyshell.runner import Candidates, ContextFullError

__all__ = ["ModelFolderError", "OnnxRunner"]

MODEL_FILE = "model.onnx"  # the WebGPU graph; folders before the CPU graph have only this one
PAST_PREFIX, PRESENT_PREFIX = "past_key_values.", "present."


class ModelFolderError(FileNotFoundError):
    """The model folder is missing or incomplete."""


def _check_folder(model_dir: Path) -> None:
    if not model_dir.is_dir():
        raise ModelFolderError(
            f"no model folder at {model_dir}: export one first with `python -m export` "
            "(or ./conteur serve)"
        )
    for name in (MODEL_FILE, "conteur.json"):
        if not (model_dir / name).is_file():
            raise ModelFolderError(
                f"{model_dir} has no {name}: it is not a complete model folder (re-export it)"
            )


def graph_file(model_dir: Path, backend: str) -> str:
    """The graph the page runs on `backend` ("webgpu" or "wasm"), from conteur.json."""
    graphs = json.loads((model_dir / "conteur.json").read_text()).get("graphs") or {}
    return graphs.get(backend, {}).get("model", MODEL_FILE)


class OnnxRunner:
    """Runs one of the folder's graphs one step at a time, keeping the KV cache in numpy.

    `threads`: onnxruntime's intra-op threads (default: all cores).
    `backend`: whose graph to run: "webgpu" (model.onnx, the default) or "wasm"
    (the CPU graph, int8 with the story shortlist head), so CPython can replay
    exactly what the page computed.
    """

    def __init__(
        self, model_dir: str | Path, threads: int | None = None, backend: str = "webgpu"
    ) -> None:
        self.model_dir = Path(model_dir)
        _check_folder(self.model_dir)
        self.model_file = graph_file(self.model_dir, backend)
        self.config = ModelConfig.from_file(self.model_dir)
        self.context_length = self.config.context_length
        options = ort.SessionOptions()
        # The page opens the CPU graph with optimizations off, and the graph is written
        # to give the same bits everywhere (export/exact_ops.py): onnxruntime's fusions
        # would change its arithmetic here, so run it as written, as the page does.
        options.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            if backend == "wasm"
            else ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        )
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.log_severity_level = 3  # errors only: keep the CLI's output clean
        self.session = ort.InferenceSession(
            str(self.model_dir / self.model_file), options, providers=["CPUExecutionProvider"]
        )
        self._past_names = [
            i.name for i in self.session.get_inputs() if i.name.startswith(PAST_PREFIX)
        ]
        self._present_names = [PRESENT_PREFIX + n[len(PAST_PREFIX) :] for n in self._past_names]
        outputs = {o.name for o in self.session.get_outputs()}
        missing = [
            n for n in ("logits", "top_values", "top_ids", *self._present_names) if n not in outputs
        ]
        if missing or not self._past_names:
            raise ModelFolderError(
                f"{self.model_dir / self.model_file} does not have the graph interface of "
                f"docs/architecture.md (missing outputs: {', '.join(missing) or 'past inputs'})"
            )
        self._kv_shape = (1, self.config.num_kv_heads, 0, self.config.head_dim)
        self._past: dict[str, np.ndarray] = {}
        self.position = 0  # tokens in the KV cache
        # The KV cache right after the last prefix (reset_to_prefix): its ids and past.
        self._prefix: tuple[int, ...] = ()
        self._prefix_past: dict[str, np.ndarray] = {}
        self.prefix_runs = 0  # how many times a prefix was computed rather than restored
        self.reset_sync()

    # --- synchronous API (CLI, tests) ------------------------------------------------

    def reset_sync(self) -> None:
        """Empty the KV cache: past tensors of length 0."""
        empty = np.zeros(self._kv_shape, dtype=np.float32)  # (1, kv_heads, 0, head_dim)
        self._past = {name: empty for name in self._past_names}
        self.position = 0

    def reset_to_prefix_sync(self, ids: list[int]) -> None:
        """Empty the KV cache, then hold exactly `ids`: restored from the copy kept
        after the last call with the same ids, else computed (one step) and kept.

        Restoring is free: onnxruntime returns new present tensors at every step
        and never writes into its inputs, so the kept past arrays stay as they
        were. The state is the same as `reset_sync(); step_sync(ids)`, bit for bit.
        """
        ids = [int(i) for i in ids]
        if not ids:
            raise ValueError("a prefix needs at least one token id")
        if tuple(ids) != self._prefix:
            self.reset_sync()
            self._run(ids, ["top_ids"], keep=1)
            self._prefix, self._prefix_past = tuple(ids), dict(self._past)
            self.prefix_runs += 1
            return
        self._past = dict(self._prefix_past)
        self.position = len(ids)

    def snapshot(self) -> tuple[dict[str, np.ndarray], int]:
        """The KV cache as it is now, to `restore` later (free: the arrays are never
        written to, see reset_to_prefix_sync)."""
        return dict(self._past), self.position

    def restore(self, state: tuple[dict[str, np.ndarray], int]) -> None:
        """Go back to a `snapshot`: the tokens fed since are forgotten."""
        past, position = state
        self._past, self.position = dict(past), position

    def _run(self, ids: list[int], outputs: list[str], keep: int) -> list[np.ndarray]:
        """One graph run over `ids`; the presents become the next past."""
        if not ids:
            raise ValueError("a step needs at least one token id")
        if self.position + len(ids) > self.context_length:
            raise ContextFullError(
                f"{self.position} cached + {len(ids)} new tokens exceed the "
                f"{self.context_length}-token context"
            )
        feeds = {
            "input_ids": np.asarray([ids], dtype=np.int64),  # (1, S)
            "num_logits_to_keep": np.asarray(keep, dtype=np.int64),  # scalar
            **self._past,
        }
        results = self.session.run(outputs + self._present_names, feeds)
        n = len(outputs)
        self._past = dict(zip(self._past_names, results[n:]))
        self.position += len(ids)
        return results[:n]

    def step_sync(self, ids: list[int]) -> Candidates:
        """Feed `ids`; the graph's candidates for the next token, best first."""
        values, top_ids = self._run(list(ids), ["top_values", "top_ids"], keep=1)
        return Candidates.from_sequences(top_ids[0].tolist(), values[0].tolist())

    def step_logits(self, ids: list[int], keep: int = 1) -> np.ndarray:
        """Feed `ids` like a step, but return full logits `(keep, vocab)` for the
        last `keep` positions: for tests that compare against a reference."""
        if not 1 <= keep <= len(ids):
            raise ValueError(f"keep must be between 1 and {len(ids)} (got {keep})")
        (logits,) = self._run(list(ids), ["logits"], keep=keep)
        return logits[0]

    # --- the Runner protocol -------------------------------------------------------------

    async def reset(self) -> None:
        self.reset_sync()

    async def reset_to_prefix(self, ids: list[int]) -> None:
        self.reset_to_prefix_sync(ids)

    async def step(self, ids: list[int]) -> Candidates:
        return self.step_sync(ids)
