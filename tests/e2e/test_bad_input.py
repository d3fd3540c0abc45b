"""Bad input gives a clear message and the page keeps working.

Form mistakes (empty, too long, out-of-range settings, HTML) on the shared tiny
WASM page; damaged sites (a corrupted or missing weights file of the WASM graph)
and a browser without a WebGPU adapter on pages of their own.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

OK_SETTINGS = {"max_new_tokens": "6", "seed": "1"}


def still_works(page) -> None:
    """After a mistake, a valid story is written."""
    last = page.write("Once upon a time", OK_SETTINGS)
    assert last["stop_reason"] in ("max_tokens", "eos")
    assert page.state() == "ready"


def field_error(page, field: str) -> str:
    """The message shown next to `field`, which must be marked invalid."""
    assert page.page.get_attribute(f"#{field}", "aria-invalid") == "true", field
    return page.page.inner_text(f"#{field}-error")


def test_empty_prompt(tiny_wasm):
    page = tiny_wasm
    page.fill("   \n  ")
    page.settings(**OK_SETTINGS)
    status = page.error_after_generate()
    assert "nothing to go on" in status
    assert "nothing to go on" in field_error(page, "text")
    still_works(page)


def test_fifty_thousand_characters(tiny_wasm):
    page = tiny_wasm
    page.fill("a" * 50_000)
    page.settings(**OK_SETTINGS)
    assert "50,000 / 4,000" in page.page.inner_text("#text-count")
    status = page.error_after_generate()
    assert "50,000" in status and "4,000" in status
    assert "4,000" in field_error(page, "text")
    still_works(page)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("temperature", "5", "between 0 and 2"),
        ("temperature", "-1", "between 0 and 2"),
        ("temperature", "hot", "must be a number"),
        ("top_p", "0", "greater than 0"),
        ("top_p", "1.5", "at most 1"),
        ("repetition_penalty", "0.5", "between 1 and 2"),
        ("max_new_tokens", "100000", "between 1 and"),
        ("max_new_tokens", "2.5", "whole number"),
        ("seed", "-1", "between 0 and 18446744073709551615 (got -1)"),
        ("seed", "18446744073709551616", "(got 18446744073709551616)"),
        ("seed", "lucky", "whole number"),
    ],
)
def test_out_of_range_setting(tiny_wasm, field, value, expected):
    page = tiny_wasm
    page.fill("Once upon a time")
    page.settings(**{**OK_SETTINGS, field: value})
    status = page.error_after_generate()
    assert expected in status, status
    box = field_error(page, field)  # the reason alone, as a sentence
    assert box[0].isupper() and expected.lower() in box.lower(), box
    # The page writes the reason from pyshell's code (js/locales/en.js), after the label.
    label = page.page.inner_text(f'label[for="{field}"] [data-i18n="field.{field}"]')
    message = page.page.inner_text('[data-testid="status"] .message')
    assert message.startswith(f"{label}: ") and expected in message, message
    assert page.page.is_enabled('[data-testid="generate"]')


def test_a_prompt_longer_than_the_context_is_cut_with_a_notice(tiny_wasm):
    """pyshell's prompt_cut notice reaches the page with its code and numbers."""
    page = tiny_wasm
    last = page.write("The lighthouse keeper read the letter twice. " * 80, OK_SETTINGS)
    assert len(last["prompt_ids"]) == 256 - 6  # the tiny model's context, less the budget
    toast = page.page.inner_text("#toast")
    assert "only 250 fit with 6 new tokens in the model's 256-token context" in toast, toast
    assert "continues from its last 249 tokens" in toast
    assert last["notices"] == [toast]  # the page's text is pyshell's English here


def test_settings_errors_clear_and_the_page_recovers(tiny_wasm):
    still_works(tiny_wasm)
    assert tiny_wasm.page.get_attribute("#temperature", "aria-invalid") is None


def test_a_seed_beyond_javascript_integers_is_exact(tiny_wasm):
    last = tiny_wasm.write("Once", {"max_new_tokens": "3", "seed": "18446744073709551615"})
    assert last["seed"] == "18446744073709551615"


def test_html_in_the_free_text_is_shown_as_text(tiny_wasm):
    page = tiny_wasm
    attack = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'
    last = page.write(attack, OK_SETTINGS)
    assert attack in last["prompt"]
    assert page.story_text().startswith(attack)
    assert page.page.evaluate("window.__pwned") is None
    story = page.page.locator('[data-testid="story"]')
    assert story.locator("img, script, b").count() == 0


def test_corrupted_model_file(browser, new_page, origin, corrupt_site, wasm_weights):
    page = new_page(browser, f"{origin}/corrupt-model/?backend=wasm")
    assert page.state() == "error"
    status = page.status_text()
    assert wasm_weights in status and "damaged" in status, status
    assert page.page.is_disabled('[data-testid="generate"]')
    page_keeps_responding(page)


def test_missing_model_file(browser, new_page, origin, missing_site, wasm_weights):
    page = new_page(browser, f"{origin}/missing-model/?backend=wasm")
    assert page.state() == "error"
    status = page.status_text()
    assert wasm_weights in status and "missing" in status and "404" in status, status
    page_keeps_responding(page)


def page_keeps_responding(page) -> None:
    """The page still reacts: the theme toggle works and Python answers "surprise me"."""
    p = page.page
    p.click("#theme-toggle")
    assert p.get_attribute("html", "data-theme") in ("light", "dark")
    p.wait_for_function("!document.querySelector('#surprise').disabled", timeout=120_000)
    p.click("#surprise")
    p.wait_for_function("document.querySelector('#character').value !== ''")


def test_no_webgpu_adapter_falls_back_to_wasm(browser_without_webgpu, new_page, origin, tiny_site):
    page = new_page(browser_without_webgpu, f"{origin}/tiny/")
    page.assert_ready()
    assert page.backend() == "wasm"
    assert "WebGPU is not available" in page.status_text()
    assert "WebGPU unavailable" in page.backend_text()
    assert page.page.evaluate("crossOriginIsolated") is True
    assert "2 threads" in page.backend_text() or "threads" in page.backend_text()
    still_works(page)
