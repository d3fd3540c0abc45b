"""The real Gemma 3 270M export: graph correctness and quantization fidelity."""

from __future__ import annotations

import json

import numpy as np
import pytest

from export.checks.eval_text import DEFAULT_TEXT, tokenize
from export.checks.metrics import fidelity
from export.checks.onnx_io import onnx_logits, session
from export.model import reference
from export.sources.checksum import sha256_file
from pyshell.config import read_graphs
from tests.conftest import run_export

pytestmark = pytest.mark.real_model

PROMPT = "Once upon a time, in a small village,"
PROMPT_IDS = [2, 14946, 3324, 496, 990, 236764, 528, 496, 1944, 9744, 236764]
# The real export's graphs and tokenizer, byte for byte (docs/export.md, "The exported
# files"): a change to any of them is a new export (bump EXPORT_VERSION, update both).
EXPORTED_SHA256 = {
    "model.onnx": "7c9eb431086ac8fb57e3d1a35e60f0700e205552adcc066ca4aeac7d8144b34d",
    "model.onnx.data": "8351c562378b84c910196f4e2ef1fb5e3ff9b37bcb2df0ace410c7a9b6c60979",
    "model-cpu.onnx": "b207a5ef30485f0b3a28303d5bba69a594c1ce73ee45a929d9a839b68b41556c",
    "model-cpu.onnx.data": "8a2185b81e492d6079da474bb56379bfd0e7d0e6e923b54fe085f3fb38990b43",
    "model-cpu.rest": "be283f1573eba97be8f85190ffb2e6b59da78ebe38632d718db7a812ff75adc2",
    "tokenizer.model": "671762f9afbe014d62af62ac89b47a481e62f7b24452cdfff8f88fd24da28070",
    "tokenizer.pieces": "3e6ff1afab1ece95fe896a55197edb8f740e39d178a0b6c679289190574e5b43",
}


@pytest.fixture(scope="module")
def eval_ids(real_model_dir):
    ids = tokenize(real_model_dir, DEFAULT_TEXT.read_text())
    assert len(ids) >= 600
    return ids


@pytest.fixture(scope="module")
def model_logits(real_model_dir, real_config, eval_ids):
    return onnx_logits(session(real_model_dir), real_config, eval_ids)


def test_prompt_tokens_and_top1(real_model_dir, real_config):
    ids = tokenize(real_model_dir, PROMPT)
    assert ids == PROMPT_IDS
    logits = onnx_logits(session(real_model_dir), real_config, ids)
    assert int(np.argmax(logits[-1])) == 993  # " there"


def test_graph_equals_reference_on_same_weights(
    real_source_weights, real_exported_tensors, model_logits, eval_ids
):
    want = reference.logits(eval_ids, real_exported_tensors, real_source_weights.config)
    diff = np.abs(model_logits - want).max(axis=-1)
    assert diff.shape == (len(eval_ids),)
    assert diff.max() <= 1e-2


def test_quantization_fidelity_meets_the_target(
    real_model_dir, real_config, real_source_weights, model_logits, eval_ids
):
    want = reference.logits(eval_ids, real_source_weights.tensors, real_source_weights.config)
    metrics = fidelity(want, model_logits, eval_ids)
    print(json.dumps(metrics))
    assert metrics["ppl_ratio"] <= 1.08
    assert metrics["kl"] <= 0.08
    assert metrics["top1"] >= 0.75
    # What one reader downloads: the shared files and its own backend's graph.
    graphs = read_graphs(real_config)
    for backend in graphs:
        others = {name for other, g in graphs.items() if other != backend for name in g.files}
        size = sum(f["bytes"] for n, f in real_config["files"].items() if n not in others)
        assert size <= 250_000_000, (backend, size)


def test_every_weight_tensor_fits_a_mobile_gpu_buffer(real_model_dir):
    import onnx

    model = onnx.load(str(real_model_dir / "model.onnx"), load_external_data=False)
    biggest = 0
    for tensor in model.graph.initializer:
        length = [e.value for e in tensor.external_data if e.key == "length"]
        biggest = max(biggest, int(length[0]) if length else len(tensor.raw_data))
    assert 0 < biggest <= 128 * 2**20


def test_verify_command_reports_each_backends_graph(real_model_dir, tmp_path):
    """Issue #8's bound for the CPU path on the exporter's own evaluation text: perplexity
    at most ×1.03 and KL at most 0.02 against the float32 reference, the trimmed head's
    lost mass counted. Measured at export: ×1.0187, KL 0.0129 (lost mass 0.0011)."""
    text = tmp_path / "text.txt"
    text.write_text(DEFAULT_TEXT.read_text(), encoding="utf-8")
    result = run_export("--verify", str(text), "--model", str(real_model_dir))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) == {"webgpu", "wasm"}  # the graph each backend runs
    webgpu, wasm = report["webgpu"], report["wasm"]
    assert webgpu["model"] == "model.onnx" and wasm["model"] == "model-cpu.onnx"
    assert set(webgpu) == {"model", "tokens", "ppl_ref", "ppl_model", "ppl_ratio", "top1", "kl"}
    assert webgpu["tokens"] > 250 and 0.9 < webgpu["ppl_ratio"] <= 1.08
    # The CPU graph: int8 with per-token rounding and the story-shortlist head, whose
    # lost mass is counted in its KL (export/checks/metrics.py).
    assert wasm["head_kept"] == 81920
    assert 0 < wasm["lost_mass"] < 0.01 and wasm["kl"] >= wasm["kl_kept"]
    assert wasm["tokens"] == webgpu["tokens"] > 800
    assert wasm["ppl_ratio"] <= 1.03 and wasm["kl"] <= 0.02, wasm
    assert wasm["top1"] >= 0.9 and wasm["targets_outside"] <= 2, wasm


def test_the_export_is_byte_identical_to_the_recorded_one(real_model_dir, real_config):
    for name, sha in EXPORTED_SHA256.items():
        assert sha256_file(real_model_dir / name) == sha, name
        assert real_config["files"][name]["sha256"] == sha, name


def test_conteur_json_and_notice_describe_each_graph(real_model_dir, real_config):
    graphs = real_config["graphs"]
    assert graphs["wasm"]["session"] == {
        "graph_optimization": "disabled",
        "execution_mode": "parallel",
        "inter_op_threads": 1,
    }
    assert graphs["webgpu"]["session"]["graph_optimization"] == "all"
    assert (graphs["webgpu"]["kv_cache"], graphs["wasm"]["kv_cache"]) == ("float32", "float16")
    notice = " ".join((real_model_dir / "NOTICE").read_text().split())
    assert "output head: 81,920 of the 262,144 tokens, int8, the story shortlist (" in notice
    assert "every other token's row int4 (blocks of 32) in model-cpu.rest" in notice
    assert "rows 0-32,767 int8/b32, rows 32,768-262,143 int4/b32" in notice


def test_prompt_tokens_outside_the_cpu_head_are_fed_from_the_rest_file(real_model_dir, real_config):
    """A prompt of rare tokens (names, scripts the shortlist leaves out): the CPU graph,
    fed their rows from model-cpu.rest, agrees with the WebGPU graph (whose table holds
    every row) as its quantization allows; fed zeros for them, it does not. Measured
    (export 2026.12-7): mean |Δlogit| 0.53 fed, 5.4 zeroed; same top-1 at 16 of the 23
    positions fed, 10 zeroed (export 2026.12-6, float32 KV cache: 0.61 and 5.2, 18 and 9:
    two quantizations agree on the top-1 only as often as their noise lets them)."""
    from pyshell.onnx_runner import OnnxRunner

    text = "The dragon 龍之介 flew over Reykjavík with Žofia, reading ψυχή aloud. Then"
    ids = tokenize(real_model_dir, text)
    cpu = OnnxRunner(real_model_dir, threads=2, backend="wasm")
    rare = [i for i in ids if i in set(cpu.rest_rows.ids.tolist())]
    assert len(rare) >= 5, rare
    webgpu = onnx_logits(session(real_model_dir), real_config, ids)  # (S, vocab)

    def gap(logits):
        kept = np.isfinite(logits[-1])
        same_top1 = np.mean(logits[:, kept].argmax(1) == webgpu[:, kept].argmax(1))
        return np.abs(logits[:, kept] - webgpu[:, kept]).mean(), same_top1

    fed_gap, fed_top1 = gap(cpu.step_logits(ids, keep=len(ids)))
    rows, real_feeds = cpu.rest_rows, cpu.rest_rows.feeds
    rows.feeds = lambda run: {k: np.zeros_like(v) for k, v in real_feeds(run).items()}
    cpu.reset_sync()
    zeroed_gap, zeroed_top1 = gap(cpu.step_logits(ids, keep=len(ids)))
    assert fed_gap < 1.0 and fed_top1 >= 0.65
    assert zeroed_gap > 4 * fed_gap and zeroed_top1 < fed_top1 - 0.2
