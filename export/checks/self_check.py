"""The self-check the page runs on a new WebGPU adapter before it trusts it.

A graphics driver can compute wrong numbers and still run every kernel
without an error; the page would then write confident nonsense. So the
exporter records, in conteur.json under `self_check`, what CPython
onnxruntime computes on the exported graph for a short fixed prompt and two
greedy decode steps. After it opens a WebGPU session the page replays the same
feeds and compares (web/static/js/worker/self-check.js): one short prefill and two
single-token steps, a fraction of a second on a real GPU.

Each step stores the `top` best candidates (ids and logits). The page passes a
step when every expected id is among the candidates it got back and its logit
is within `atol + rtol * |expected|`: near-ties may swap places on another
device, wrong arithmetic moves logits by whole units.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime

from pyshell.onnx_runner import OnnxRunner
from pyshell.tokenizer import Tokenizer

SELF_CHECK_TEXT = "Once upon a time"  # a handful of tokens: BOS + 4 for Gemma 3
DECODE_STEPS = 2
TOP = 5
# CPU vs WebGPU (SwiftShader) agree to ~1e-6 on this graph; real GPUs sum in another
# order. A wrong kernel (e.g. GQA on runs of 32+ tokens) is off by whole logits.
ATOL = 0.05
RTOL = 0.005


def compute_self_check(model_dir: Path, text: str = SELF_CHECK_TEXT) -> dict:
    """The `self_check` entry of conteur.json for the model in `model_dir`.

    Runs the graph with CPython onnxruntime (CPU): the prompt, then DECODE_STEPS
    steps each feeding the previous step's best candidate.
    """
    tokenizer = Tokenizer.from_file(model_dir / "tokenizer.model")
    runner = OnnxRunner(model_dir, backend="webgpu")  # the graph the page checks
    prompt_ids = tokenizer.encode(text, add_bos=True)
    steps, feed = [], prompt_ids
    for _ in range(1 + DECODE_STEPS):
        candidates = runner.step_sync(feed)
        steps.append(
            {
                "feed": list(feed),
                "top_ids": candidates.ids[:TOP],
                "top_logits": [round(float(s), 5) for s in candidates.scores[:TOP]],
            }
        )
        feed = [candidates.ids[0]]
    return {
        "text": text,
        "prompt_ids": prompt_ids,
        "steps": steps,
        "atol": ATOL,
        "rtol": RTOL,
        "computed_with": f"onnxruntime {onnxruntime.__version__} (CPU)",
    }
