"""The CPython runner: the exported ONNX graph on onnxruntime's CPU provider.

It implements `pyshell.runner.Runner` for the CLI and the tests, mirroring
what the page's JavaScript runner does with onnxruntime-web: feed only the
new tokens, keep the KV cache between steps (the WebGPU graph's `present.*`
outputs, or on the CPU graph the step's own rows, `new_key_values.*`, appended to the
cache here as the page's worker/kv-rows.js does), ask for one position of logits
(`num_logits_to_keep` = 1) and fetch only `top_values` / `top_ids`, never the
262,144-wide logits row. The CPU graph also takes the embedding rows of any prompt
token outside its head, read from the folder's rest file (pyshell/rest_rows.py).

This module and its rest-file reader are the pyshell modules that need numpy and
onnxruntime; only the CPython-only tools (the CLI, the evaluation, pyshell/steering.py)
import them, so the package stays dependency-free for Pyodide.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from pyshell.config import CONFIG_FILE, ModelConfig, RestFile, SessionOptions
from pyshell.rest_rows import RestRows, RestRowsError
from pyshell.runner import Candidates, ContextFullError

__all__ = ["ModelFolderError", "OnnxRunner", "append_rows", "rows_to_keep", "session_options"]

PAST_PREFIX, PRESENT_PREFIX, NEW_PREFIX = "past_key_values.", "present.", "new_key_values."
OPTIMIZATION_LEVELS = {
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
}
EXECUTION_MODES = {
    "sequential": ort.ExecutionMode.ORT_SEQUENTIAL,
    "parallel": ort.ExecutionMode.ORT_PARALLEL,
}


class ModelFolderError(FileNotFoundError):
    """The model folder is missing or incomplete."""


def _check_file(path: Path) -> None:
    if not path.parent.is_dir():
        raise ModelFolderError(
            f"no model folder at {path.parent}: export one first with `python -m export` "
            "(or ./conteur serve)"
        )
    if not path.is_file():
        raise ModelFolderError(
            f"{path.parent} has no {path.name}: it is not a complete model folder (re-export it)"
        )


def session_options(session: SessionOptions, threads: int | None = None) -> ort.SessionOptions:
    """conteur.json's `session` for a graph, as onnxruntime's options (the page maps the same
    entry onto onnxruntime-web's), with `threads` intra-op threads (default: all cores)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = OPTIMIZATION_LEVELS[session.graph_optimization]
    options.execution_mode = EXECUTION_MODES[session.execution_mode]
    if session.inter_op_threads is not None:
        options.inter_op_num_threads = session.inter_op_threads
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.log_severity_level = 3  # errors only: keep the CLI's output clean
    return options


def rows_to_keep(
    session: ort.InferenceSession, past_names: list[str], sliding_window: int | None
) -> list[int | None]:
    """Positions each past tensor hands on (None: all): a sliding layer's past, whose
    length is named `window_past_sequence`, holds its window's last sliding_window - 1."""
    shapes = {i.name: i.shape for i in session.get_inputs()}

    def keep(name: str) -> int | None:
        length = shapes[name][2]
        if isinstance(length, str) and length.startswith("window_") and sliding_window:
            return sliding_window - 1
        return None

    return [keep(name) for name in past_names]


def append_rows(past: np.ndarray, rows: np.ndarray, keep: int | None) -> np.ndarray:
    """The next step's past: `rows` (1, Hkv, S, Hd) after `past`, its last `keep` positions.
    A new array: a snapshot's arrays are never written."""
    cache = np.concatenate([past, rows], axis=2)
    return cache if keep is None or cache.shape[2] <= keep else cache[:, :, -keep:]


class OnnxRunner:
    """Runs one of the folder's graphs one step at a time, keeping the KV cache in numpy.

    `threads`: onnxruntime's intra-op threads (default: all cores).
    `backend`: whose graph to run (conteur.json `graphs`): "webgpu" (model.onnx, the
    default) or "wasm" (the CPU graph, int8 with the story shortlist head), opened with
    that graph's own session options, so CPython replays exactly what the page computed.
    """

    def __init__(
        self, model_dir: str | Path, threads: int | None = None, backend: str = "webgpu"
    ) -> None:
        self.model_dir = Path(model_dir)
        _check_file(self.model_dir / CONFIG_FILE)
        self.config = ModelConfig.from_file(self.model_dir)
        graph = self.config.graph(backend)
        self.model_file = graph.model
        _check_file(self.model_dir / self.model_file)
        self.context_length = self.config.context_length
        self.session = ort.InferenceSession(
            str(self.model_dir / self.model_file),
            session_options(graph.session, threads),
            providers=["CPUExecutionProvider"],
        )
        self._past_names = [
            i.name for i in self.session.get_inputs() if i.name.startswith(PAST_PREFIX)
        ]
        outputs = {o.name for o in self.session.get_outputs()}
        new_names = [NEW_PREFIX + n[len(PAST_PREFIX) :] for n in self._past_names]
        # The step's own rows instead of the whole cache: the runner keeps the cache.
        self._keeps_cache = bool(new_names) and all(n in outputs for n in new_names)
        self._cache_outputs = (
            new_names
            if self._keeps_cache
            else [PRESENT_PREFIX + n[len(PAST_PREFIX) :] for n in self._past_names]
        )
        self._kept_rows = rows_to_keep(self.session, self._past_names, self.config.sliding_window)
        missing = [
            n for n in ("logits", "top_values", "top_ids", *self._cache_outputs) if n not in outputs
        ]
        if missing or not self._past_names:
            raise ModelFolderError(
                f"{self.model_dir / self.model_file} does not have the graph interface of "
                f"docs/architecture.md (missing outputs: {', '.join(missing) or 'past inputs'})"
            )
        self.rest_rows = None if graph.rest is None else self._open_rest_rows(graph.rest)
        self._kv_shape = (1, self.config.num_kv_heads, 0, self.config.head_dim)
        self._kv_dtype = np.dtype(graph.kv_cache)  # float32, or float16 on the CPU graph
        self._past: dict[str, np.ndarray] = {}
        self.position = 0  # tokens in the KV cache
        self.reset_sync()

    def _open_rest_rows(self, entry: RestFile) -> RestRows:
        """The CPU graph's rows of the tokens outside its head; a missing or wrong file
        is a ModelFolderError that says to re-export, like a missing graph."""
        _check_file(self.model_dir / entry.file)
        try:
            return RestRows.open(self.model_dir, entry)
        except RestRowsError as exc:
            raise ModelFolderError(str(exc)) from None

    # --- synchronous API (CLI, tests) ------------------------------------------------

    def reset_sync(self) -> None:
        """Empty the KV cache: past tensors of length 0."""
        empty = np.zeros(self._kv_shape, dtype=self._kv_dtype)  # (1, kv_heads, 0, head_dim)
        self._past = {name: empty for name in self._past_names}
        self.position = 0

    def snapshot(self) -> tuple[dict[str, np.ndarray], int]:
        """The KV cache as it is now, to `restore` later (pyshell.best_of). Free:
        every step makes new arrays (onnxruntime's presents, or `append_rows`) and
        nothing writes into them, so the kept arrays stay as they were."""
        return dict(self._past), self.position

    def restore(self, state: tuple[dict[str, np.ndarray], int]) -> None:
        """Go back to a `snapshot`: the tokens fed since are forgotten."""
        past, position = state
        self._past, self.position = dict(past), position

    def forget(self, state: tuple[dict[str, np.ndarray], int]) -> None:
        """A snapshot no longer needed: numpy frees its arrays once unreferenced."""

    def _run(self, ids: list[int], outputs: list[str], keep: int) -> list[np.ndarray]:
        """One graph run over `ids`; its cache outputs make the next past."""
        if not ids:
            raise ValueError("a step needs at least one token id")
        if self.position + len(ids) > self.context_length:
            raise ContextFullError(self.position, len(ids), self.context_length)
        results = self.session.run(outputs + self._cache_outputs, self._feeds(ids, keep))
        n = len(outputs)
        if self._keeps_cache:
            self._past = {
                name: append_rows(self._past[name], rows, kept)
                for name, rows, kept in zip(self._past_names, results[n:], self._kept_rows)
            }
        else:
            self._past = dict(zip(self._past_names, results[n:]))
        self.position += len(ids)
        return results[:n]

    def _feeds(self, ids: list[int], keep: int) -> dict[str, np.ndarray]:
        """The inputs of one run over `ids` from the KV cache as it is now."""
        feeds = {
            "input_ids": np.asarray([ids], dtype=np.int64),  # (1, S)
            "num_logits_to_keep": np.asarray(keep, dtype=np.int64),  # scalar
            **self._past,
        }
        if self.rest_rows is not None:
            feeds.update(self.rest_rows.feeds(ids))
        return feeds

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

    async def step(self, ids: list[int]) -> Candidates:
        return self.step_sync(ids)
