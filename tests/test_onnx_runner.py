"""The onnxruntime runner (pyshell/onnx_runner.py).

A toy graph with the real graph's inputs and outputs (docs/architecture.md)
checks the KV-cache bookkeeping against a numpy reference: its logits at a
position depend on every cached key before it, so a lost or doubled cache
entry changes the numbers. The tiny exported model then checks the same on
the exporter's real graph.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from export.checks.onnx_io import onnx_logits
from pyshell.config import ConfigError, ModelConfig
from pyshell.generate import generate
from pyshell.onnx_runner import ModelFolderError, OnnxRunner, session_options
from pyshell.runner import Candidates, ContextFullError, Runner
from pyshell.sampler import SamplingConfig
from tests.test_generate import ByteTokenizer

VOCAB, DIM, LAYERS, TOP_K, CONTEXT = 16, 4, 2, 8, 12


def toy_weights() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    embed = rng.normal(size=(VOCAB, DIM)).astype(np.float32)  # (vocab, dim)
    head = rng.normal(size=(DIM, VOCAB)).astype(np.float32)  # (dim, vocab)
    return embed, head


def toy_logits(ids: list[int]) -> np.ndarray:
    """Reference: logits at position t = (sum of embeddings 0..t) @ head, shape (T, vocab)."""
    embed, head = toy_weights()
    return np.cumsum(embed[ids], axis=0) @ head


# The exporter's choices per backend (export/graphs/webgpu_graph.py, cpu_graph.py).
SESSIONS = {
    "webgpu": {
        "graph_optimization": "all",
        "execution_mode": "sequential",
        "inter_op_threads": None,
    },
    "wasm": {"graph_optimization": "disabled", "execution_mode": "parallel", "inter_op_threads": 1},
}


def toy_graph(session: dict) -> dict:
    """A conteur.json `graphs` entry for the toy graph (its weights sit inside model.onnx)."""
    head = {"kept": VOCAB, "of": VOCAB, "rule": "full"}
    return {
        "model": "model.onnx", "data": [], "data_chunks": {}, "head": head, "session": session,
        "kv_cache": "float32",
    }  # fmt: skip


def toy_config_text() -> str:
    """The toy folder's conteur.json."""
    config = {
        "format": "conteur-model", "format_version": 1, "name": "toy", "variant": "pretrained",
        "architecture": {
            "num_layers": LAYERS, "hidden_size": DIM, "num_heads": 1, "num_kv_heads": 1,
            "head_dim": DIM, "vocab_size": VOCAB, "context_length": CONTEXT,
        },
        "tokens": {"pad": 0, "eos": 1, "bos": 2, "unk": 3},
        "graph": {"top_k": TOP_K},
        "graphs": {backend: toy_graph(session) for backend, session in SESSIONS.items()},
    }  # fmt: skip
    return json.dumps(config)


def write_toy_model(folder: Path) -> Path:
    """A model folder whose graph has Conteur's I/O: KV concat, cumulative sum, top-k."""
    from onnx import TensorProto, helper, numpy_helper, save_model

    embed, head = toy_weights()
    kv = [1, 1, "past", DIM]
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "sequence"]),
        helper.make_tensor_value_info("num_logits_to_keep", TensorProto.INT64, []),
    ]
    outputs = [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "keep", VOCAB]),
        helper.make_tensor_value_info("top_values", TensorProto.FLOAT, [1, TOP_K]),
        helper.make_tensor_value_info("top_ids", TensorProto.INT64, [1, TOP_K]),
    ]
    nodes = [
        helper.make_node("Gather", ["embed", "input_ids"], ["emb"]),  # (1, S, dim)
        helper.make_node("Unsqueeze", ["emb", "axis1"], ["new_kv"]),  # (1, 1, S, dim)
    ]
    for i in range(LAYERS):
        for part in ("key", "value"):
            past, present = f"past_key_values.{i}.{part}", f"present.{i}.{part}"
            inputs.append(helper.make_tensor_value_info(past, TensorProto.FLOAT, kv))
            outputs.append(
                helper.make_tensor_value_info(present, TensorProto.FLOAT, [1, 1, "t", DIM])
            )
            nodes.append(helper.make_node("Concat", [past, "new_kv"], [present], axis=2))
    nodes += [
        helper.make_node("CumSum", ["present.1.key", "axis2"], ["sums"]),  # (1, 1, T, dim)
        helper.make_node("Squeeze", ["sums", "axes01"], ["hidden"]),  # (T, dim)
        helper.make_node("Neg", ["num_logits_to_keep"], ["neg_keep"]),
        helper.make_node("Unsqueeze", ["neg_keep", "axis0"], ["start"]),
        helper.make_node("Slice", ["hidden", "start", "end", "axis0"], ["last"]),  # (keep, dim)
        helper.make_node("MatMul", ["last", "head"], ["rows"]),  # (keep, vocab)
        helper.make_node("Unsqueeze", ["rows", "axis0"], ["logits"]),
        helper.make_node("Slice", ["rows", "minus1", "end", "axis0"], ["last_row"]),  # (1, vocab)
        helper.make_node("TopK", ["last_row", "k"], ["top_values", "top_ids"], axis=-1),
    ]
    consts = {
        "embed": embed, "head": head, "axis0": np.array([0]), "axis1": np.array([1]),
        "axis2": np.array(2), "axes01": np.array([0, 1]), "minus1": np.array([-1]),
        "end": np.array([2**62]), "k": np.array([TOP_K]),
    }  # fmt: skip
    graph = helper.make_graph(
        nodes, "toy", inputs, outputs,
        [numpy_helper.from_array(v, k) for k, v in consts.items()],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    save_model(model, str(folder / "model.onnx"))
    (folder / "conteur.json").write_text(toy_config_text())
    return folder


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory) -> Path:
    return write_toy_model(tmp_path_factory.mktemp("toy"))


def expected_candidates(ids: list[int]) -> tuple[list[int], np.ndarray]:
    row = toy_logits(ids)[-1]
    best = np.argsort(-row, kind="stable")[:TOP_K]
    return best.tolist(), row[best]


def test_step_by_step_candidates_match_the_reference(toy_dir):
    runner = OnnxRunner(toy_dir, threads=1)
    sequence = [2, 5, 7, 9, 4, 11]
    got = runner.step_sync(sequence[:3])
    for n in range(3, len(sequence) + 1):
        ids, values = expected_candidates(sequence[:n])
        assert got.ids == ids
        np.testing.assert_allclose(got.scores, values, rtol=1e-5, atol=1e-5)
        assert got.scores == sorted(got.scores, reverse=True)
        assert runner.position == n
        if n < len(sequence):
            got = runner.step_sync([sequence[n]])


def test_step_logits_keeps_the_last_positions(toy_dir):
    runner = OnnxRunner(toy_dir, threads=1)
    logits = runner.step_logits([2, 5, 7, 9], keep=3)
    assert logits.shape == (3, VOCAB)
    np.testing.assert_allclose(logits, toy_logits([2, 5, 7, 9])[1:], rtol=1e-5, atol=1e-5)
    # The cache advanced: the next step continues the same sequence.
    np.testing.assert_allclose(
        runner.step_logits([4])[0], toy_logits([2, 5, 7, 9, 4])[-1], rtol=1e-5, atol=1e-5
    )
    with pytest.raises(ValueError, match="keep must be between 1 and 1"):
        runner.step_logits([3], keep=2)


def test_reset_forgets_the_cache(toy_dir):
    runner = OnnxRunner(toy_dir, threads=1)
    first = runner.step_sync([2, 5, 7])
    runner.step_sync([9])
    asyncio.run(runner.reset())
    assert runner.position == 0
    assert asyncio.run(runner.step([2, 5, 7])) == first


def test_context_is_enforced(toy_dir):
    runner = OnnxRunner(toy_dir, threads=1)
    assert runner.context_length == CONTEXT
    runner.step_sync([2] * 10)
    runner.step_sync([3, 3])
    with pytest.raises(ContextFullError, match="12 cached \\+ 1 new tokens exceed the 12-token"):
        runner.step_sync([4])
    with pytest.raises(ValueError, match="at least one token"):
        runner.step_sync([])


def test_runner_drives_the_generation_loop(toy_dir):
    runner = OnnxRunner(toy_dir, threads=1)
    assert isinstance(runner, Runner)
    config = SamplingConfig(temperature=0, repetition_penalty=1.0, seed=0)
    result = asyncio.run(
        generate(runner, ByteTokenizer(), [5, 7], sampler=config, max_new_tokens=6, stop_ids={99})
    )
    # Greedy reference: argmax of the cumulative-sum logits, token after token.
    sequence = [2, 5, 7]
    for _ in range(6):
        sequence.append(int(np.argmax(toy_logits(sequence)[-1])))
    assert result.ids == sequence[3:]


def test_missing_or_incomplete_folders_are_reported(tmp_path, toy_dir):
    with pytest.raises(ModelFolderError, match="no model folder at .*python -m export"):
        OnnxRunner(tmp_path / "nowhere")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "conteur.json").write_text((toy_dir / "conteur.json").read_text())
    with pytest.raises(ModelFolderError, match="has no model.onnx"):
        OnnxRunner(tmp_path / "half")


def test_tiny_export_steps_agree_with_one_pass(tiny_model_dir):
    """On the exporter's graph: feeding a prompt in pieces gives the logits of one pass."""
    runner = OnnxRunner(tiny_model_dir, threads=1)
    ids = [2] + [(7 * i + 11) % (runner.config.vocab_size - 10) + 5 for i in range(23)]
    whole = runner.step_logits(ids, keep=len(ids))  # (24, vocab)
    runner.reset_sync()
    pieces = [ids[:9], ids[9:10], ids[10:17], *[[i] for i in ids[17:]]]
    rows = [runner.step_logits(piece, keep=len(piece)) for piece in pieces]
    np.testing.assert_allclose(np.concatenate(rows), whole, rtol=1e-3, atol=1e-3)
    runner.reset_sync()
    for piece in pieces:
        candidates: Candidates = runner.step_sync(piece)
    k = runner.config.top_k
    assert len(candidates.ids) == len(set(candidates.ids)) == k
    # The candidates are the k best of the one-pass logits, best first, with their values.
    np.testing.assert_allclose(candidates.scores, np.sort(whole[-1])[::-1][:k], atol=1e-3)
    np.testing.assert_allclose(whole[-1][candidates.ids], candidates.scores, atol=1e-3)


def test_session_options_are_conteur_jsons():
    """The runner opens each graph as conteur.json `session` says (the page does the same)."""
    config = ModelConfig.from_dict(json.loads(toy_config_text()))
    cpu = session_options(config.graph("wasm").session, threads=1)
    assert cpu.graph_optimization_level == ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    assert cpu.execution_mode == ort.ExecutionMode.ORT_PARALLEL
    assert (cpu.inter_op_num_threads, cpu.intra_op_num_threads) == (1, 1)
    gpu = session_options(config.graph("webgpu").session, threads=2)
    assert gpu.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert gpu.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert gpu.intra_op_num_threads == 2


def test_a_folder_without_graphs_is_refused(tmp_path, toy_dir):
    config = json.loads((toy_dir / "conteur.json").read_text())
    del config["graphs"]
    (tmp_path / "model.onnx").write_bytes((toy_dir / "model.onnx").read_bytes())
    (tmp_path / "conteur.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match='"graphs" section is missing.*re-export'):
        OnnxRunner(tmp_path)


def test_cpu_graph_on_the_parallel_executor_gives_the_sequential_bits(tiny_model_dir):
    """One inter-op thread runs one node at a time: the same bits as the default executor."""
    runner = OnnxRunner(tiny_model_dir, threads=1, backend="wasm")
    assert runner.model_file == "model-cpu.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    sequential = ort.InferenceSession(
        str(tiny_model_dir / "model-cpu.onnx"), options, providers=["CPUExecutionProvider"]
    )
    ids = [2, 17, 250, 31, 99, 4, 300, 12, 57, 8, 191, 140]
    got = runner.step_logits(ids, keep=len(ids))
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    want = onnx_logits(sequential, config, ids, tiny_model_dir)
    assert np.array_equal(got, want)


def test_cpu_graph_prompt_in_runs_gives_the_bits_of_one_pass(tiny_model_dir):
    """The page feeds a long prompt to the CPU graph in runs of WASM_MAX_RUN tokens
    (web/static/js/worker/ort-runner.js): every op is per token or attends over the
    cache, so the candidates after the last run are the one pass's, bit for bit."""
    runner = OnnxRunner(tiny_model_dir, threads=1, backend="wasm")
    ids = [2] + [(13 * i + 7) % (runner.config.vocab_size - 10) + 5 for i in range(40)]
    whole = runner.step_sync(ids)
    runner.reset_sync()
    for start in range(0, len(ids), 16):
        in_runs = runner.step_sync(ids[start : start + 16])
    assert in_runs.ids == whole.ids
    assert in_runs.scores == whole.scores  # exact: no tolerance


def test_cpu_graph_hands_on_only_the_window_in_sliding_layers(tiny_model_dir):
    """The CPU graph's sliding layers keep the last sliding_window - 1 positions, all the
    next token can see; its global layers keep every one. The graph hands out only the
    step's rows and the runner keeps the cache from them (no present.* to fetch, export
    2026.12-12). Decoding token by token past the window gives the one pass's
    candidates, bit for bit."""
    runner = OnnxRunner(tiny_model_dir, threads=1, backend="wasm")
    outputs = {o.name for o in runner.session.get_outputs()}
    assert not any(name.startswith("present.") for name in outputs)
    assert {f"new_key_values.{i}.{part}" for i in range(6) for part in ("key", "value")} <= outputs
    arch = json.loads((tiny_model_dir / "conteur.json").read_text())["architecture"]
    window, every = arch["sliding_window"], arch["global_layer_every"]
    ids = [2] + [(11 * i + 3) % (runner.config.vocab_size - 10) + 5 for i in range(3 * window)]
    whole = runner.step_sync(ids)
    past, position = runner.snapshot()
    assert position == len(ids)
    for name, tensor in past.items():
        layer = int(name.split(".")[1])
        held = len(ids) if layer % every == every - 1 else window - 1
        assert tensor.shape[2] == held, name
    runner.reset_sync()
    runner.step_sync(ids[:window])
    for token in ids[window:]:
        stepped = runner.step_sync([token])
    assert stepped.ids == whole.ids
    assert stepped.scores == whole.scores


def test_snapshot_and_restore_go_back_to_a_cache(toy_dir):
    runner = OnnxRunner(toy_dir, threads=1)
    runner.step_sync([2, 5])
    state = runner.snapshot()
    first = runner.step_sync([7])
    runner.step_sync([9, 4])  # a trial continuation, then dropped
    runner.restore(state)
    assert runner.position == 2
    assert runner.step_sync([7]) == first
    ids, _ = expected_candidates([2, 5, 7])
    assert first.ids == ids


def test_a_missing_or_wrong_rest_file_is_a_folder_to_re_export(tmp_path, tiny_model_dir):
    """A CPU graph whose conteur.json names rest rows (pyshell/rest_rows.py) needs that
    file as it needs its graph: missing or of another size, the runner says to re-export."""
    for name in ("conteur.json", "model-cpu.onnx", "model-cpu.onnx.data"):
        (tmp_path / name).write_bytes((tiny_model_dir / name).read_bytes())
    config = json.loads((tmp_path / "conteur.json").read_text())
    config["graphs"]["wasm"]["rest"] = {"file": "model-cpu.rest", "rows": 4, "width": 64,
        "block": 32, "record_bytes": 44, "ids_offset": 16, "records_offset": 32}  # fmt: skip
    (tmp_path / "conteur.json").write_text(json.dumps(config))
    with pytest.raises(ModelFolderError, match="has no model-cpu.rest.*re-export"):
        OnnxRunner(tmp_path, backend="wasm")
    (tmp_path / "model-cpu.rest").write_bytes(b"CTRR" + bytes(100))
    with pytest.raises(ModelFolderError, match="has 104 bytes, conteur.json says 208: re-export"):
        OnnxRunner(tmp_path, backend="wasm")
