"""Where a decode step's time goes: onnxruntime's profiler on the exported model.

The same profiler runs in CPython (native onnxruntime, a file) and in the
browser (onnxruntime-web prints the same trace events to the console, see
bench/engine_runs.py). Both are summarized here per op and per matrix, so the
two can be compared kernel by kernel: what native code does in a few
milliseconds, and what the wasm build makes of it.
"""

from __future__ import annotations

import collections
import json
import re
import shutil
import statistics
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from export.checks.onnx_io import past_dtype
from pyshell.config import ModelConfig
from pyshell.onnx_runner import append_rows, rows_to_keep
from pyshell.rest_rows import RestRows, graph_rest_rows

HINT = re.compile(r"^(?P<base>.+?)(?:\.part(?P<plane>\d+))?_\d+$")
INT8_HINT = re.compile(r"^(?P<base>.+?)\.acc_\d+$")  # export/graphs/cpu_graph.py's MatMulInteger
LAYER = re.compile(r"^layers\.\d+\.(?P<kind>\w+)$")


def graph_file(model_dir: Path, backend: str = "wasm") -> Path:
    """The graph `backend` runs (conteur.json `graphs`)."""
    return model_dir / ModelConfig.from_file(model_dir).graph(backend).model


def _session(model_path: Path, threads: int, profile_prefix: str | None = None):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


class Stepper:
    """Drives a Conteur graph one step at a time, keeping the KV cache: the whole
    cache from `present.*`, or on the CPU graph the step's rows (`new_key_values.*`)
    appended here, a sliding layer keeping its last `window - 1` (pyshell.onnx_runner)."""

    def __init__(
        self,
        session,
        layers: int = 18,
        rest_rows: RestRows | None = None,
        window: int | None = None,
    ) -> None:
        self.session = session
        self.rest_rows = rest_rows  # the CPU graph's rows of tokens outside its head
        self.pasts = [f"past_key_values.{i}.{k}" for i in range(layers) for k in ("key", "value")]
        outputs = {o.name for o in session.get_outputs()}
        self.keeps_cache = "new_key_values.0.key" in outputs
        prefix = "new_key_values." if self.keeps_cache else "present."
        self.names = [prefix + n[len("past_key_values.") :] for n in self.pasts]
        self.keep = rows_to_keep(session, self.pasts, window)
        self.fetch = ["top_ids", *self.names]
        self.reset()

    def reset(self) -> None:
        empty = np.zeros((1, 1, 0, 256), past_dtype(self.session))
        self.past = dict.fromkeys(self.pasts, empty)

    def step(self, ids: list[int]) -> int:
        feeds = {
            "input_ids": np.array([ids], np.int64),
            "num_logits_to_keep": np.array(1, np.int64),
            **self.past,
            **(self.rest_rows.feeds(ids) if self.rest_rows else {}),
        }
        out = self.session.run(self.fetch, feeds)
        if self.keeps_cache:
            self.past = {
                n: append_rows(self.past[n], rows, keep)
                for n, rows, keep in zip(self.pasts, out[1:], self.keep)
            }
        else:
            self.past = dict(zip(self.pasts, out[1:]))
        return int(out[0][0, 0])


def node_roles(model: onnx.ModelProto) -> tuple[dict[str, str], dict[str, int]]:
    """Matrix node name -> its matrix's role ("layer up int8", "head int4", …), and
    the number of weights each role holds (N × K per matrix, over all layers).

    The WebGPU graph may compute one matrix with several MatMulNBits (an 8-bit matrix
    as two 4-bit planes, output names `<matrix>.part<i>_<n>`): they share a role. The
    CPU graph has one MatMulInteger (int8) per matrix.
    """
    nodes = {}  # node name -> (matrix, bits, N * K)
    shapes = {t.name: list(t.dims) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "MatMulInteger":
            match = INT8_HINT.match(node.output[0])
            k, n = shapes.get(node.input[1], [0, 0])
            nodes[node.name] = (match.group("base") if match else node.output[0], 8, k * n)
            continue
        if node.op_type != "MatMulNBits":
            continue
        attrs = {a.name: a.i for a in node.attribute}
        match = HINT.match(node.output[0])
        matrix = match.group("base") if match else node.output[0]
        nodes[node.name] = (matrix, attrs.get("bits", 4), attrs.get("N", 0) * attrs.get("K", 0))
    planes = collections.Counter(matrix for matrix, _, _ in nodes.values())
    roles, weights, counted = {}, collections.Counter(), set()
    for name, (matrix, bits, size) in nodes.items():
        layer = LAYER.match(matrix)
        kind = (
            f"layer {layer.group('kind')}"
            if layer
            else "head"
            if matrix.startswith(("head", "logits"))
            else matrix
        )
        total_bits = bits * planes[matrix]
        roles[name] = f"{kind} int{total_bits}" + (
            f" ({planes[matrix]} × int{bits})" if planes[matrix] > 1 else ""
        )
        if matrix not in counted:
            counted.add(matrix)
            weights[roles[name]] += size
    return roles, dict(weights)


def summarize_trace(trace: list[dict], runs: list[dict], roles: dict[str, str]) -> dict:
    """Mean per-op and per-matrix kernel time over the given `model_run` events.

    `trace` is onnxruntime's profile (Chrome trace events), from CPython's file or
    from onnxruntime-web's console output: both have the same events.
    """
    windows = [(r["ts"], r["ts"] + r["dur"]) for r in runs]
    by_op: collections.Counter = collections.Counter()
    by_role: collections.Counter = collections.Counter()
    for event in trace:
        if event.get("cat") != "Node" or not event.get("name", "").endswith("_kernel_time"):
            continue
        if not any(a <= event["ts"] <= b for a, b in windows):
            continue
        by_op[event["args"]["op_name"]] += event["dur"]
        node = event["name"].removesuffix("_kernel_time")
        if node in roles:
            by_role[roles[node]] += event["dur"]
    n = max(1, len(runs))
    return {
        "runs": len(runs),
        "step_ms_median": statistics.median(r["dur"] for r in runs) / 1000 if runs else None,
        "kernels_ms": sum(by_op.values()) / 1000 / n,
        "by_op_ms": {k: v / 1000 / n for k, v in by_op.most_common()},
        "matmul_by_role_ms": {k: v / 1000 / n for k, v in by_role.most_common()},
    }


def model_runs(trace: list[dict]) -> list[dict]:
    return [e for e in trace if e.get("name") == "model_run"]


def profile_decode(model_dir: Path, prompt_ids: list[int], threads: int, steps: int = 12) -> dict:
    """CPython: per-op and per-matrix time of a decode step (mean over `steps`), on the
    graph the page runs on WASM."""
    graph = graph_file(model_dir)
    roles, weights = node_roles(onnx.load(str(graph), load_external_data=False))
    folder = Path(tempfile.mkdtemp(prefix="conteur-bench-profile-"))
    try:
        session = _session(graph, threads, str(folder / "ort"))
        window = ModelConfig.from_file(model_dir).sliding_window
        runner = Stepper(session, rest_rows=graph_rest_rows(model_dir), window=window)
        token = runner.step(prompt_ids)
        for _ in range(steps + 2):
            token = runner.step([token])
        trace = json.loads(Path(session.end_profiling()).read_text())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    runs = model_runs(trace)
    decode = summarize_trace(trace, runs[-steps:], roles)  # after the prompt and a warm-up
    return decode | {
        "threads": threads,
        "matmul_weights": weights,
        "prefill": summarize_trace(trace, runs[:1], roles),
    }
