"""The exporter on a tiny random model: the ONNX graph must compute the reference."""

from __future__ import annotations

import json

import numpy as np
import pytest

from export.checks.onnx_io import empty_past, onnx_logits, session
from export.model import reference
from export.quantize.quantized_model import dequantized_tensors, quantize_weights
from export.quantize.schemes import SCHEMES
from export.sources.gguf_file import read_gguf
from export.sources.hf_checkpoint import read_hf

PROMPT = [2, 17, 250, 31, 99, 4, 300, 12, 57, 8, 191, 140, 77, 210, 5, 66, 123, 380, 45, 90]


def same_weight_reference(weights, ids):
    """Reference logits on the weights the graph really uses (int dequantized)."""
    quantized = quantize_weights(weights, SCHEMES["default"])
    return reference.logits(ids, dequantized_tensors(quantized), weights.config)


def test_prompt_is_longer_than_the_window(tiny_sources):
    assert len(PROMPT) > 2 * tiny_sources["config"].sliding_window


def test_gguf_export_equals_reference_at_every_position(tiny_model_dir, tiny_sources):
    weights, _ = read_gguf(tiny_sources["gguf"])
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    got = onnx_logits(session(tiny_model_dir), config, PROMPT)
    want = same_weight_reference(weights, PROMPT)
    assert got.shape == (len(PROMPT), config["architecture"]["vocab_size"])
    assert np.abs(got - want).max() <= 1e-3


def test_hf_export_equals_reference_and_gguf_export(tmp_path, tiny_sources, tiny_model_dir):
    from tests.conftest import run_export

    out = tmp_path / "tiny-hf"
    result = run_export("--hf", str(tiny_sources["hf"]), "--out", str(out))
    assert result.returncode == 0, result.stderr
    weights = read_hf(tiny_sources["hf"])
    config = json.loads((out / "conteur.json").read_text())
    got = onnx_logits(session(out), config, PROMPT)
    assert np.abs(got - same_weight_reference(weights, PROMPT)).max() <= 1e-3
    from_gguf = onnx_logits(session(tiny_model_dir), config, PROMPT)
    assert np.abs(got - from_gguf).max() <= 1e-3  # norms: HF w + 1 == GGUF's stored 1 + w
    assert (out / "tokenizer.model").read_bytes() == tiny_sources["tokenizer"].read_bytes()


def test_kv_cache_decoding_equals_one_pass(tiny_model_dir):
    """Token-by-token decoding across the sliding-window boundary gives the same logits."""
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    sess = session(tiny_model_dir)
    full = onnx_logits(sess, config, PROMPT)
    past = empty_past(config)
    names = [o.name for o in sess.get_outputs()]
    # A 5-token prefill, then one token at a time.
    chunks = [PROMPT[:5]] + [[t] for t in PROMPT[5:]]
    rows = []
    for chunk in chunks:
        feeds = {
            "input_ids": np.asarray([chunk], np.int64),
            "num_logits_to_keep": np.array(len(chunk), np.int64),
            **past,
        }
        out = dict(zip(names, sess.run(None, feeds)))
        rows.append(out["logits"][0])
        past = {
            name.replace("present.", "past_key_values."): value
            for name, value in out.items()
            if name.startswith("present.")
        }
        top = np.argsort(-out["logits"][0, -1], kind="stable")[:5]
        assert list(out["top_ids"][0][:5]) == list(top)
    stepped = np.concatenate(rows)
    assert np.abs(stepped - full).max() <= 1e-3
    assert past["past_key_values.0.key"].shape[2] == len(PROMPT)


def test_config_records_dimensions_tokens_and_files(tiny_model_dir, tiny_sources):
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    arch = config["architecture"]
    assert (arch["num_layers"], arch["hidden_size"], arch["sliding_window"]) == (6, 64, 8)
    assert config["tokens"]["bos"] == 2 and config["tokens"]["eos"] == 1
    assert config["tokens"]["start_of_turn"] >= 4
    assert config["variant"] == "pretrained"
    for name in ("model.onnx", "model.onnx.data", "tokenizer.model", "NOTICE"):
        assert config["files"][name]["bytes"] == (tiny_model_dir / name).stat().st_size
    assert "re-quantized" in (tiny_model_dir / "NOTICE").read_text()
    assert (tiny_model_dir / "GEMMA_TERMS.html").stat().st_size > 10_000


@pytest.mark.parametrize("scheme", ["int4", "int8"])
def test_other_schemes_match_their_reference(tmp_path, tiny_sources, scheme):
    from tests.conftest import run_export

    out = tmp_path / scheme
    assert (
        run_export(
            "--gguf", str(tiny_sources["gguf"]), "--out", str(out), "--scheme", scheme
        ).returncode
        == 0
    )
    weights, _ = read_gguf(tiny_sources["gguf"])
    quantized = quantize_weights(weights, SCHEMES[scheme])
    want = reference.logits(PROMPT, dequantized_tensors(quantized), weights.config)
    config = json.loads((out / "conteur.json").read_text())
    assert np.abs(onnx_logits(session(out), config, PROMPT) - want).max() <= 1e-3


def test_an_export_is_byte_identical_across_runs(tmp_path, tiny_sources, tiny_model_dir):
    """Same source, same options: the same bytes in every file (docs/export.md records the
    real export's graph hashes)."""
    from tests.conftest import run_export

    out = tmp_path / "again"
    result = run_export("--gguf", str(tiny_sources["gguf"]), "--out", str(out), "--name", "tiny")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in tiny_model_dir.iterdir())
    assert names == sorted(p.name for p in out.iterdir())
    assert {"model.onnx", "model-cpu.onnx.data", "conteur.json", "NOTICE"} <= set(names)
    for name in names:
        assert (out / name).read_bytes() == (tiny_model_dir / name).read_bytes(), name


def test_notice_describes_both_graphs(tiny_model_dir):
    notice = (tiny_model_dir / "NOTICE").read_text()
    for words in (
        "model.onnx + model.onnx.data, the WebGPU graph",
        "each 8-bit matrix stored as two 4-bit planes",
        "rows 0-199 int8/b32, rows 200-399 int4/b32",  # the tiny vocabulary's two bands
        "model-cpu.onnx + model-cpu.onnx.data, the CPU (WebAssembly) graph",
        "smoothed per input channel",
        "int8 with one scale per output column",
        "output head: all 400 tokens",  # the shortlist is Gemma 3's; tiny keeps every token
    ):
        assert words in " ".join(notice.split()), words
    assert max(len(line) for line in notice.splitlines() if "sha256" not in line) <= 80
