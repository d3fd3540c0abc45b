"""The speed check under Advanced settings: tokens/s on the current backend, as one JSON line."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser


def run_speed_check(page) -> dict:
    p = page.page
    if not p.is_visible('[data-testid="speed-check"]'):
        p.click("#advanced summary")
    p.click('[data-testid="speed-check"]')
    p.wait_for_function(
        "['done', 'error'].includes(document.querySelector('[data-testid=speed-result]')"
        ".dataset.state)",
        timeout=300_000,
    )
    result = p.locator('[data-testid="speed-result"]')
    assert result.get_attribute("data-state") == "done", result.inner_text()
    line = result.get_attribute("data-json")
    assert "\n" not in line
    measured = json.loads(line)
    assert measured == page.hook("speed")
    text = result.inner_text()
    assert f"decode {measured['decode_tokens_per_second']} tokens/s" in text
    return measured


def check_numbers(measured: dict) -> None:
    assert measured["prefill_tokens"] >= 32 and measured["decode_tokens"] == 16
    for phase in ("prefill", "decode"):
        tokens, seconds = measured[f"{phase}_tokens"], measured[f"{phase}_seconds"]
        assert seconds > 0
        assert measured[f"{phase}_tokens_per_second"] == pytest.approx(tokens / seconds, rel=0.02)


def test_speed_check_on_wasm(tiny_wasm):
    measured = run_speed_check(tiny_wasm)
    check_numbers(measured)
    assert measured["backend"] == "wasm" and measured["self_check"] == "skipped"
    assert "thread" in measured["adapter"]
    assert measured["onnxruntime_web"] == "1.30.0"
    # The cache is empty again: the next story starts from its own prompt.
    assert tiny_wasm.memory()["kv_tokens"] == 0
    print(f"speed check, tiny/wasm: {json.dumps(measured)}")


def test_speed_check_on_webgpu_names_the_adapter(tiny_webgpu):
    measured = run_speed_check(tiny_webgpu)
    check_numbers(measured)
    assert measured["backend"] == "webgpu" and measured["self_check"] == "passed"
    assert "swiftshader" in measured["adapter"].lower()
    print(f"speed check, tiny/webgpu: {json.dumps(measured)}")


def test_a_story_asked_for_during_the_speed_check_gets_a_busy_answer(tiny_wasm):
    """The worker answers every request: Generate during the speed check is refused, not lost."""
    page = tiny_wasm
    p = page.page
    if not p.is_visible('[data-testid="speed-check"]'):
        p.click("#advanced summary")
    page.fill("Once upon a time")
    page.settings(max_new_tokens="4", seed="3")
    errors, stories = len(page.hook("errors")), page.stories()
    # One task: the worker gets the speed check, then the story while the check runs.
    p.evaluate(
        "() => { document.querySelector('[data-testid=speed-check]').click();"
        " document.querySelector('[data-testid=generate]').click(); }"
    )
    p.wait_for_function("([n]) => window.conteur.errors.length > n", arg=[errors], timeout=60_000)
    assert page.state() == "error"
    assert p.get_attribute('[data-testid="status"]', "data-fatal") == "false"
    status = page.status_text()
    assert "Conteur is busy: the speed check is running" in status, status
    # The speed check itself went on, and the page is usable again.
    p.wait_for_function(
        "document.querySelector('[data-testid=speed-result]').dataset.state === 'done'",
        timeout=300_000,
    )
    assert page.hook("speed")["decode_tokens"] == 16
    assert page.stories() == stories  # the refused story was never written
    assert p.is_enabled('[data-testid="generate"]')
    last = page.write("Once upon a time", {"max_new_tokens": "4", "seed": "3"})
    assert len(last["ids"]) == 4 or last["stop_reason"] == "eos"
    assert page.state() == "ready"
