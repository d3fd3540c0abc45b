"""The WebGPU self-check, the remembered verdict, and Automatic's choice of adapter.

Headless Chromium's only WebGPU adapter is SwiftShader, a software (fallback)
adapter: Automatic must not pick it, an explicit `?backend=webgpu` must, and
the self-check must pass on it with the real graph's numbers. A site whose
conteur.json expects other logits stands in for a GPU that computes wrong ones.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser

VERDICTS = "conteur-webgpu-verdicts"


def check_state(page) -> str:
    return page.page.get_attribute('[data-testid="backend"]', "data-check") or ""


def test_self_check_passes_on_swiftshader(tiny_webgpu, tiny_model_dir):
    assert tiny_webgpu.backend() == "webgpu"
    assert check_state(tiny_webgpu) == "passed"
    verdict = tiny_webgpu.hook("selfCheck")
    expected = json.loads((tiny_model_dir / "conteur.json").read_text())["self_check"]
    assert verdict["status"] == "passed" and verdict["problems"] == []
    assert verdict["steps"] == len(expected["steps"]) == 3  # a prefill and two decode steps
    assert len(expected["prompt_ids"]) <= 16  # "Once upon a time" in the tiny 400-piece vocabulary
    assert 0 < verdict["seconds"] < 60
    assert "swiftshader" in verdict["key"].lower() and "onnxruntime-web 1.30.0" in verdict["key"]
    print(f"self-check on SwiftShader, tiny model: {verdict['seconds'] * 1000:.0f} ms")


def test_wrong_results_fall_back_to_wasm_and_are_remembered(
    browser, new_page, origin, wrong_check_site
):
    page = new_page(browser, f"{origin}/wrong-check/?backend=webgpu")
    page.assert_ready()
    assert page.backend() == "wasm"
    assert check_state(page) == "failed"
    verdict = page.hook("selfCheck")
    assert verdict["status"] == "failed"
    assert len(verdict["problems"]) == 3 * 5  # every expected logit of every step is off
    assert "computed wrong results" in page.status_text()
    assert "WebGPU unavailable" in page.backend_text()
    saved = json.loads(page.page.evaluate(f"localStorage.getItem('{VERDICTS}')"))
    assert saved[verdict["key"]]["status"] == "failed"
    # It still writes stories, on the CPU.
    last = page.write("The lighthouse", {"temperature": "0", "max_new_tokens": "4"})
    assert len(last["ids"]) == 4 or last["stop_reason"] == "eos"

    # Next visit, with WebGPU as the saved choice but not in the URL: straight to WASM.
    page.page.evaluate("localStorage.setItem('conteur-backend', 'webgpu')")
    page.page.goto(f"{origin}/wrong-check/")
    page.wait_loaded()
    page.assert_ready()
    assert page.backend() == "wasm"
    assert check_state(page) == "failed"
    assert page.hook("selfCheck") is None  # not run again
    assert "earlier self-check" in page.status_text()

    # An explicit ?backend=webgpu checks again (and fails again).
    page.page.goto(f"{origin}/wrong-check/?backend=webgpu")
    page.wait_loaded()
    assert page.hook("selfCheck")["status"] == "failed"
    assert page.backend() == "wasm"


def test_automatic_does_not_choose_a_software_adapter(browser, new_page, origin, tiny_site):
    page = new_page(browser, f"{origin}/tiny/")
    page.assert_ready()
    assert page.page.evaluate("navigator.gpu !== undefined")
    assert page.backend() == "wasm"
    assert check_state(page) == "skipped"
    assert page.hook("selfCheck") is None
    notice = page.hook("backend.notice")
    assert "software" in notice and "swiftshader" in notice.lower(), notice
    assert "software WebGPU skipped" in page.backend_text()


def test_wasm_skips_the_check(tiny_wasm):
    assert tiny_wasm.backend() == "wasm"
    assert check_state(tiny_wasm) == "skipped"
