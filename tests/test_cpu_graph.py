"""The CPU graph (export/graphs/cpu_graph.py) on the tiny model: it computes what the numpy
reference computes with the same int8 weights and per-token rounding, its smoothing
changes nothing in float, and a trimmed head keeps exactly its kept tokens."""

from __future__ import annotations

import json

import numpy as np
import pytest

from export.checks.cpu_check import (
    GRAPH_KL,
    GRAPH_TOP1,
    draw_agreement,
    graph_tensors,
    round_cache,
    round_rows,
)
from export.checks.metrics import head_fidelity
from export.checks.onnx_io import empty_past, onnx_logits, past_dtype, session
from export.folder.data_files import RestTable
from export.graphs.builder import OPSET, GraphBuilder
from export.graphs.cpu_graph import RowQuantizer, build_cpu_graph, int8_matmul
from export.model import reference
from export.quantize import cpu_model
from export.quantize.int8_columns import dequantize_columns, quantize_columns
from export.quantize.smoothing import ChannelMaxima, measure_maxima, smooth
from export.sources.gguf_file import read_gguf
from pyshell.config import RestFile
from pyshell.rest_rows import RestRows

PROMPT = [2, 17, 250, 31, 99, 4, 300, 12, 57, 8, 191, 140, 77, 210, 5, 66, 123, 380, 45, 90]


@pytest.fixture(scope="module")
def tiny_weights(tiny_sources):
    weights, _ = read_gguf(tiny_sources["gguf"])
    return weights


@pytest.fixture(scope="module")
def encode(tiny_model_dir):
    """The tiny tokenizer with BOS, as the exporter calibrates with it."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(tiny_model_dir / "tokenizer.model"))
    return lambda text: [sp.bos_id(), *sp.encode(text)]


def assert_same_draw(got: np.ndarray, want: np.ndarray) -> None:
    """The graph against the rounded reference, as the exporter compares them (cpu_check).

    The float16 KV cache rounds keys and values to a grid 8,192 times coarser than
    float32's, so a last-bit difference between numpy and onnxruntime now and then
    lands a value on the neighbouring float16 step; later int8 roundings move with it
    and a few positions differ by a tenth of a logit. Most positions agree to 1e-3.
    """
    per_position = np.abs(got - want).max(axis=1)
    assert per_position[0] <= 1e-3  # BOS alone: nothing to disagree on yet
    assert np.median(per_position) <= 1e-3, per_position
    agreement = draw_agreement(want, got)
    assert agreement["kl"] <= GRAPH_KL and agreement["top1"] >= GRAPH_TOP1, agreement


def run_graph(proto, config, ids, rest_rows=None):
    import onnxruntime as ort

    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {
        "input_ids": np.asarray([ids], np.int64),
        "num_logits_to_keep": np.array(len(ids), np.int64),
        **empty_past(config, past_dtype(sess)),
        **(rest_rows.feeds(ids) if rest_rows else {}),
    }
    logits, top_ids = sess.run(["logits", "top_ids"], feeds)
    return logits[0], top_ids[0]


def test_exported_cpu_graph_equals_rounded_reference(tiny_model_dir, tiny_weights, encode):
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    assert config["graphs"]["wasm"]["model"] == "model-cpu.onnx"
    assert config["graphs"]["wasm"]["head"] == {"kept": 400, "of": 400, "rule": "full"}
    got = onnx_logits(session(tiny_model_dir, "model-cpu.onnx"), config, PROMPT)

    cpu = cpu_model.prepare_cpu_model(tiny_weights, encode)
    head = dequantize_columns(cpu.head)
    want = reference.logits(
        PROMPT, graph_tensors(cpu), cpu.config, head=head, inputs=round_rows, cache=round_cache
    )
    assert_same_draw(got, want)
    # The cache really holds float16: without its rounding even BOS alone differs.
    unrounded = reference.logits(
        PROMPT, graph_tensors(cpu), cpu.config, head=head, inputs=round_rows
    )
    assert np.abs(got - unrounded).max(axis=1)[0] > 1e-2
    assert config["graphs"]["wasm"]["kv_cache"] == "float16"
    # ... and it is a different function from the float32 graph: the rounding is real.
    plain = reference.logits(PROMPT, graph_tensors(cpu), cpu.config, head=head)
    assert np.abs(plain - want).max() > 1e-2


def test_smoothing_changes_no_product_in_float(tiny_weights, encode):
    c = tiny_weights.config
    maxima = measure_maxima(tiny_weights.tensors, c, [encode("Once upon a time, a fox.")])
    head_rows = tiny_weights.tensors["embed"]
    smoothed = smooth(tiny_weights.tensors, c, maxima, head_rows)
    scales = smoothed["head_scale"]
    assert not np.allclose(scales, 1)  # something was moved
    want = reference.logits(PROMPT, tiny_weights.tensors, c)
    table = {**smoothed, "embed": tiny_weights.tensors["embed"]}
    got = reference.logits(PROMPT, table, c, head=head_rows * scales[None, :])
    assert np.abs(got - want).max() <= 1e-3 * np.abs(want).max()


def test_calibration_runs_in_float64_and_measures_what_float32_does(tiny_weights, encode):
    """The smoothing's maxima come from a float64 pass: float32 maxima differ in their last
    bits between numpy releases, and so did the CPU graph's bytes (docs/export.md)."""
    c = tiny_weights.config
    stories = [encode("Once upon a time, a fox."), encode("Il était une fois un renard.")]
    wide = measure_maxima(tiny_weights.tensors, c, stories)
    hook = ChannelMaxima()
    for ids in stories:
        hook(reference.hidden_states(ids, tiny_weights.tensors, c, hook), "head_in")
    assert set(wide) == set(hook.maxima)
    for site, maxima in wide.items():
        assert maxima.dtype == np.float64, site
        np.testing.assert_allclose(maxima, hook.maxima[site], rtol=1e-4, err_msg=site)
    # float64 for real: a float32 pass gives other last bits somewhere
    assert any(not np.array_equal(wide[s], hook.maxima[s].astype(np.float64)) for s in wide)


def trimmed_cpu_model(tiny_weights, encode, monkeypatch):
    kept = np.arange(0, 400, 3, dtype=np.int64)  # every third token
    monkeypatch.setattr(cpu_model, "head_ids_for", lambda vocab, head: kept)
    return kept, cpu_model.prepare_cpu_model(tiny_weights, encode)


def rest_rows_of(cpu, folder):
    """The rest file the export writes for `cpu`, opened as a runner opens it."""
    table = RestTable("model-cpu.rest", cpu.rest_ids, cpu.rest)
    table.write(folder)
    entry = RestFile(**table.entry())
    return RestRows.open(folder, entry)


def test_trimmed_head_keeps_its_tokens_and_embeds_every_token(
    tiny_weights, encode, monkeypatch, tmp_path
):
    kept, cpu = trimmed_cpu_model(tiny_weights, encode, monkeypatch)
    assert len(cpu.rest_ids) == 400 - len(kept)
    config = {"architecture": cpu.config.to_json()}
    logits, top_ids = run_graph(build_cpu_graph(cpu), config, PROMPT, rest_rows_of(cpu, tmp_path))

    assert np.isfinite(logits[:, kept]).all()
    assert np.isneginf(np.delete(logits, kept, axis=1)).all()
    assert set(top_ids.tolist()) <= set(kept.tolist())
    assert top_ids[0] == kept[np.argmax(logits[-1, kept])]
    # PROMPT has tokens of both tables; the graph matches the reference built from both.
    assert any(i in set(cpu.rest_ids.tolist()) for i in PROMPT)
    head = dequantize_columns(cpu.head)
    want = reference.logits(
        PROMPT, graph_tensors(cpu), cpu.config, head=head, inputs=round_rows, cache=round_cache
    )
    assert_same_draw(logits[:, kept], want)


def test_int8_columns_round_trip():
    w = np.random.default_rng(1).normal(size=(48, 64)).astype(np.float32)
    m = quantize_columns(w)
    assert m.weight.shape == (64, 48) and m.weight.dtype == np.int8 and m.scale.shape == (48,)
    assert np.abs(np.abs(m.weight).max(axis=0) - 127).max() <= 0  # absmax maps to ±127
    err = np.abs(dequantize_columns(m) - w).max(axis=1)
    assert (err <= m.scale.astype(np.float32) * 0.5 + 1e-6).all()


def test_products_are_exact_at_the_extremes():
    """A matrix product of the graph sums (x - 128) * w exactly, even where every byte is at
    its extreme: with int8 weights, onnxruntime's x86 kernel on CPUs with AVX2 and no VNNI
    saturates 16-bit pair sums (255 * 127 * 2 > 32,767) and every such output came out
    wrong; the graph stores its weights as uint8 + 128 (cpu_graph.WEIGHT_ZERO_POINT)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    rng = np.random.default_rng(5)
    k, n = 64, 48
    w = rng.choice(np.array([-127, 127], np.float32), size=(n, k)) * rng.uniform(0.5, 2, (n, 1))
    m = quantize_columns(w.astype(np.float32))
    x = rng.choice(np.array([-1.0, 1.0], np.float32), size=(1, 3, k))  # rounds to ±127
    g = GraphBuilder()
    int8_matmul(g, RowQuantizer(g), "x", m, "m")
    acc = next(node.output[0] for node in g.nodes if node.op_type == "MatMulInteger")
    graph = helper.make_graph(
        g.nodes, "product",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, k])],
        [helper.make_tensor_value_info(acc, TensorProto.INT32, None)],
        g.initializers,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 10  # as export/graphs/interface.py writes it
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    (got,) = sess.run(None, {"x": x})
    steps = np.round(x / (np.abs(x).max(axis=-1, keepdims=True) / np.float32(127)))
    want = steps.astype(np.int64) @ m.weight.astype(np.int64)
    assert np.abs(steps).max() == 127 and np.abs(m.weight).max() == 127
    np.testing.assert_array_equal(got, want)


def test_rounding_is_per_token():
    x = np.array([[1.0, -0.5, 0.25], [100.0, 1.0, 0.0]], np.float32)
    y = round_rows(x, "site")
    assert np.abs(y[0] - x[0]).max() <= 0.5 / 127  # the small row keeps its own scale
    assert y[1, 2] == 0 and abs(y[1, 1] - 1.0) < 100 / 127


def test_lost_mass_is_counted_in_the_kl():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(6, 10)).astype(np.float32)
    model = ref.copy()
    model[:, 7:] = -np.inf  # keeps tokens 0..6, with the reference's own logits
    ids = [0, 1, 2, 3, 4, 5]
    got = head_fidelity(ref, model, ids)
    p = np.exp(ref[:-1]) / np.exp(ref[:-1]).sum(axis=1, keepdims=True)
    lost = p[:, 7:].sum(axis=1)
    assert got["kl_kept"] == pytest.approx(0, abs=1e-5)  # same logits on what it keeps
    assert got["lost_mass"] == pytest.approx(lost.mean(), abs=1e-5)
    assert got["kl"] == pytest.approx(-np.log1p(-lost).mean(), abs=1e-5)
    assert got["targets_outside"] == 0 and got["ppl_ratio"] < 1  # kept targets gain the mass


def test_rest_rows_are_dequantized_as_the_table_was(tiny_weights, encode, monkeypatch, tmp_path):
    """The rows fed from the rest file give the embedding the int4 table gives: a prompt of
    rest tokens only, and one of kept tokens only (all-zero rest inputs), both match."""
    kept, cpu = trimmed_cpu_model(tiny_weights, encode, monkeypatch)
    config = {"architecture": cpu.config.to_json()}
    graph = build_cpu_graph(cpu)
    rest = rest_rows_of(cpu, tmp_path)
    head = dequantize_columns(cpu.head)
    rest_only, kept_only = cpu.rest_ids[5:17].tolist(), kept[1:13].tolist()
    for ids in (rest_only, kept_only):
        logits, _ = run_graph(graph, config, ids, rest)
        want = reference.logits(
            ids, graph_tensors(cpu), cpu.config, head=head, inputs=round_rows, cache=round_cache
        )
        assert_same_draw(logits[:, kept], want)
    assert not np.any(rest.feeds(kept_only)["rest_scales"])  # kept tokens: zero rows
    # The graph reads what it is fed: the same rest tokens with kept tokens' (zero) rows differ.
    blank = rest_rows_of(cpu, tmp_path)
    blank.ids = blank.ids + 10_000  # no id matches: every row fed as zeros
    fed, _ = run_graph(graph, config, rest_only, rest)
    zeroed, _ = run_graph(graph, config, rest_only, blank)
    assert np.abs(fed[:, kept] - zeroed[:, kept]).max() > 1e-2
