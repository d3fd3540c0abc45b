"""Activation steering (pyshell/steering.py), on the tiny exported model: a zero vector
is the graph as exported, to the bit; a vector moves the logits; the vectors are the
mean residual differences they claim to be."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from pyshell.onnx_runner import ModelFolderError, OnnxRunner
from pyshell.steering import (
    RESIDUAL_OUTPUT,
    SKIP_POSITIONS,
    SteeredRunner,
    add_steering,
    load_vectors,
    main,
    steered_copy,
    steering_vectors,
)
from pyshell.tokenizer import Tokenizer

IDS = [2, 10, 11, 12, 13, 14, 15, 16, 17]


@pytest.fixture(scope="module")
def steered(tiny_model_dir, tmp_path_factory):
    return steered_copy(tiny_model_dir, tmp_path_factory.mktemp("steered"), layer=0)


def test_a_zero_vector_is_the_graph_as_exported(tiny_model_dir, steered):
    plain = OnnxRunner(tiny_model_dir, backend="wasm").step_logits(IDS, keep=3)
    runner = SteeredRunner(steered)
    assert np.array_equal(runner.step_logits(IDS, keep=3), plain)


def test_a_vector_moves_the_logits_and_the_cache_keeps_it(steered):
    runner = SteeredRunner(steered)
    plain = runner.step_logits(IDS, keep=1)
    runner.reset_sync()
    runner.vector = np.full(runner.config.hidden_size, 0.5, dtype=np.float32)
    moved = runner.step_logits(IDS, keep=1)
    assert np.abs(moved - plain).max() > 1e-3
    runner.vector = np.zeros_like(runner.vector)
    nudged_cache = runner.step_logits([18], keep=1)  # the earlier positions' keys were steered
    runner.reset_sync()
    assert not np.array_equal(nudged_cache, runner.step_logits([*IDS, 18], keep=1))


def test_the_residual_is_read_before_the_vector_from_an_empty_cache(steered):
    runner = SteeredRunner(steered)
    runner.step_sync(IDS[:3])  # a story under way: residuals() must not read from it
    seen = runner.residuals(IDS)
    assert seen.shape == (len(IDS), runner.config.hidden_size)
    runner.vector = np.ones(runner.config.hidden_size, dtype=np.float32)
    assert np.array_equal(runner.residuals(IDS), seen)  # the layer's own output
    assert runner.position == 0


def test_vectors_are_the_mean_residual_differences(steered):
    runner = SteeredRunner(steered)
    tokenizer = Tokenizer.from_file(steered / "tokenizer.model")
    good, own = ["a curious fox and a small village"], ["the robot went home at night"]

    def mean(text):
        seen = runner.residuals([tokenizer.bos_id, *tokenizer.encode(text)])
        return seen[SKIP_POSITIONS:].mean(axis=0)

    found = steering_vectors(runner, tokenizer, {"en": good}, {"en": own})
    assert np.allclose(found["en"], mean(good[0]) - mean(own[0]))
    with pytest.raises(ValueError, match="long enough"):
        steering_vectors(runner, tokenizer, {"en": ["fox"]}, {"en": own})


def test_the_command_line_writes_vectors_the_evaluation_reads(steered, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("a curious fox and a small village\n* * *\nthe sea and a boat at night\n")
    own = tmp_path / "own.json"
    stories = [{"language": "en", "text": "the robot went home at night and slept"}]
    own.write_text(json.dumps({"stories": stories}))
    out = tmp_path / "vectors.json"
    assert main(["vectors", "--model", str(steered), "--good", f"en={good}",
                 "--own", str(own), "--out", str(out)]) == 0  # fmt: skip
    written = json.loads(out.read_text())
    assert (written["good"], written["own"]) == ({"en": 2}, {"en": 1})
    vectors = load_vectors(out)
    assert vectors["en"].shape == (SteeredRunner(steered).config.hidden_size,)


def test_wrong_layers_and_plain_folders_are_refused(tiny_model_dir, steered):
    model = onnx.load(str(steered / "model-cpu.onnx"), load_external_data=False)
    assert RESIDUAL_OUTPUT in {o.name for o in model.graph.output}
    plain = onnx.load(str(tiny_model_dir / "model-cpu.onnx"), load_external_data=False)
    with pytest.raises(ValueError, match="not one of this graph's"):
        add_steering(plain, layer=99, hidden=8)
    with pytest.raises(ModelFolderError, match="pyshell.steering copy"):
        SteeredRunner(tiny_model_dir)
