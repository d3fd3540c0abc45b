"""conteur.json's `self_check` (export/checks/self_check.py) and the page's rule for it.

The page reads the steps through shared/model-config.js (top_ids → topIds) and
compares them in worker/self-check.js.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess

import pytest

from export.checks.self_check import ATOL, DECODE_STEPS, RTOL, SELF_CHECK_TEXT
from pyshell.onnx_runner import OnnxRunner
from pyshell.tokenizer import Tokenizer
from tests.conftest import ROOT

SELF_CHECK_JS = ROOT / "web" / "static" / "js" / "worker" / "self-check.js"


def load_check(model_dir) -> dict:
    return json.loads((model_dir / "conteur.json").read_text())["self_check"]


def test_tiny_export_records_a_reproducible_greedy_check(tiny_model_dir):
    check = load_check(tiny_model_dir)
    tokenizer = Tokenizer.from_file(tiny_model_dir / "tokenizer.model")
    assert check["text"] == SELF_CHECK_TEXT
    assert check["prompt_ids"] == tokenizer.encode(SELF_CHECK_TEXT, add_bos=True)
    assert (check["atol"], check["rtol"]) == (ATOL, RTOL)
    steps = check["steps"]
    assert len(steps) == 1 + DECODE_STEPS
    assert steps[0]["feed"] == check["prompt_ids"]
    for before, after in itertools.pairwise(steps):
        assert after["feed"] == [before["top_ids"][0]]  # greedy: the best candidate is fed
    runner = OnnxRunner(tiny_model_dir, threads=1)
    for step in steps:
        got = runner.step_sync(step["feed"])
        assert got.ids[:5] == step["top_ids"]
        assert got.scores[:5] == pytest.approx(step["top_logits"], abs=1e-4)


@pytest.mark.real_model
def test_real_export_checks_the_design_prompt(real_config):
    check = real_config["self_check"]
    assert check["prompt_ids"] == [2, 14946, 3324, 496, 990]  # BOS "Once upon a time"
    first = check["steps"][0]
    assert first["top_ids"][0] == 236764  # ","
    assert len(check["steps"]) == 3


def js_mismatches(step: dict, ids: list[int], scores: list[float]) -> list[str]:
    """stepMismatches from the page's module, run by Node (`step` as conteur.json has it)."""
    assert shutil.which("node"), "node is needed (npm installs the browser runtimes with it)"
    script = (
        f"import {{ stepMismatches }} from {json.dumps(SELF_CHECK_JS.as_uri())};"
        f"const step = {json.dumps(step)};"
        "const r = stepMismatches({topIds: step.top_ids, topLogits: step.top_logits}, "
        f"{{ids: {json.dumps(ids)}, scores: {json.dumps(scores)}}}, "
        f"{{atol: {ATOL}, rtol: {RTOL}}});"
        "console.log(JSON.stringify(r));"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


STEP = {"top_ids": [10, 11, 12], "top_logits": [20.0, 19.99, 15.0]}


def test_page_rule_passes_equal_and_near_tied_candidates():
    assert js_mismatches(STEP, [10, 11, 12, 13], [20.0, 19.99, 15.0, 1.0]) == []
    # A near-tie swapped, every logit off by less than atol + rtol * |logit|.
    assert js_mismatches(STEP, [11, 10, 12], [20.05, 19.98, 15.1]) == []


def test_page_rule_fails_wrong_or_missing_logits():
    problems = js_mismatches(STEP, [10, 11, 13], [20.0, 19.5, 3.0])
    assert problems == [
        "token 11: logit 19.5000, expected 19.9900",
        "token 12 is missing from the candidates",
    ]
    # NaN from a broken kernel is never "close".
    assert len(js_mismatches(STEP, [10, 11, 12], [float("nan")] * 3)) == 3
