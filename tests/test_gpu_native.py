"""bench.gpu_native measures what it says, checked with the CPU provider on both sides
(its dry run, `--provider cpu`) on the tiny model: the decode that keeps the KV cache
where onnxruntime wrote it writes the same tokens as the one that passes it through
numpy, and the logits comparison finds a difference where there is one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from bench import gpu_native
from pyshell.tokenizer import Tokenizer

ROOT = Path(__file__).resolve().parent.parent


def _setup(folder):
    config = json.loads((folder / "conteur.json").read_text())
    session = gpu_native.cpu_session(folder / "model.onnx")
    prompt = Tokenizer.from_file(folder / "tokenizer.model").encode(
        "Once upon a time a small fox lived by the river.", add_bos=True
    )
    return config, session, prompt


def test_kept_kv_decode_writes_the_numpy_kv_decode_tokens(tiny_model_dir):
    config, session, prompt = _setup(tiny_model_dir)
    through_numpy, _, _ = gpu_native.greedy(session, config, prompt, 12)
    kept, _, _ = gpu_native.greedy_kept_kv(session, config, prompt, 12, "cpu")
    assert len(through_numpy) == 12
    assert kept == through_numpy


def test_greedy_continues_from_its_own_cache(tiny_model_dir):
    """Token 2 of a greedy run is what a fresh prefill of prompt + token 1 picks."""
    config, session, prompt = _setup(tiny_model_dir)
    ids, _, _ = gpu_native.greedy(session, config, prompt, 2)
    fresh = gpu_native.Steps(session, config).next_token(prompt + ids[:1])
    assert fresh == ids[1]


def test_agreement_is_exact_for_one_graph_and_not_for_another(tiny_model_dir):
    config, session, prompt = _setup(tiny_model_dir)
    same = gpu_native.agreement(session, session, config, prompt)
    assert same["max_abs_logit_diff"] == 0
    assert same["top1"] == 1.0 and same["kl"] == 0

    class Shifted:
        """The same session with noise on its logits: what a wrong kernel would give."""

        def __init__(self, inner):
            self.inner = inner
            self.get_inputs = inner.get_inputs

        def run(self, outputs, feeds):
            results = self.inner.run(outputs, feeds)
            noise = np.random.default_rng(0).normal(0, 3.0, results[0].shape)
            return [results[0] + noise.astype(np.float32), *results[1:]]

    shifted = gpu_native.agreement(Shifted(session), session, config, prompt)
    assert shifted["max_abs_logit_diff"] > 3.0
    # The tiny model's logits are huge (one-hot softmax), so the perplexity moves, not KL.
    assert abs(shifted["ppl_ratio"] - 1) > 0.1, shifted


def test_report_says_why_a_kept_kv_decode_did_not_run():
    row = gpu_native._kept_kv_row({"error": "RuntimeError: no device"}, 128)
    assert "not run: RuntimeError: no device" in row
    row = gpu_native._kept_kv_row({"decode_tok_s": 54.68, "same_as_numpy_kv": True}, 128)
    assert "54.7 (same tokens)" in row


def test_prompt_in_runs_gives_the_one_run_tokens(tiny_model_dir):
    config, session, prompt = _setup(tiny_model_dir)
    whole, _, _ = gpu_native.greedy_kept_kv(session, config, prompt, 4, "cpu")
    runs, _, _ = gpu_native.greedy_kept_kv(session, config, prompt, 4, "cpu", run=5)
    assert len(prompt) > 5
    assert runs == whole


def test_page_run_is_the_pages():
    source = (ROOT / "web" / "static" / "js" / "worker" / "ort-runner.js").read_text()
    match = re.search(r"export const WEBGPU_MAX_RUN = (\d+);", source)
    assert match and int(match.group(1)) == gpu_native.PAGE_RUN
