"""The real Gemma 3 270M export: graph correctness and quantization fidelity."""

from __future__ import annotations

import json

import numpy as np
import pytest

from export import reference
from export.verify import DEFAULT_TEXT, fidelity, onnx_logits, session, tokenize
from tests.conftest import run_export

pytestmark = pytest.mark.real_model

PROMPT = "Once upon a time, in a small village,"
PROMPT_IDS = [2, 14946, 3324, 496, 990, 236764, 528, 496, 1944, 9744, 236764]


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
    size = sum(f["bytes"] for f in real_config["files"].values())
    assert size <= 250_000_000


def test_every_weight_tensor_fits_a_mobile_gpu_buffer(real_model_dir):
    import onnx

    model = onnx.load(str(real_model_dir / "model.onnx"), load_external_data=False)
    biggest = 0
    for tensor in model.graph.initializer:
        length = [e.value for e in tensor.external_data if e.key == "length"]
        biggest = max(biggest, int(length[0]) if length else len(tensor.raw_data))
    assert 0 < biggest <= 128 * 2**20


def test_verify_command_prints_json(real_model_dir, tmp_path):
    text = tmp_path / "text.txt"
    text.write_text(DEFAULT_TEXT.read_text()[:1500], encoding="utf-8")
    result = run_export("--verify", str(text), "--model", str(real_model_dir))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) == {"tokens", "ppl_ref", "ppl_model", "ppl_ratio", "top1", "kl"}
    assert report["tokens"] > 250 and 0.9 < report["ppl_ratio"] <= 1.08
