"""Stop, many stories in a row, "surprise me", copy/download and the keyboard (tiny model, WASM)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pyshell.prompts import MAX_TEXT_CHARS, TONES
from pyshell.settings import SETTINGS

pytestmark = pytest.mark.browser

LONG = {"max_new_tokens": "200", "temperature": "1", "seed": "7"}


def test_stop_ends_the_story_within_one_step_and_a_new_one_starts(tiny_wasm):
    page = tiny_wasm
    page.fill("Once upon a time")
    page.settings(**LONG)
    before = page.click_generate()
    page.wait_streamed(5)
    started = time.perf_counter()
    page.page.click('[data-testid="stop"]')
    last = page.wait_finished(before, timeout=30_000)
    latency = time.perf_counter() - started
    assert last["stop_reason"] == "cancelled"
    assert page.state() == "stopped"
    assert "stopped" in page.status_text().lower()
    # The worker ran at most the step that was under way when "stop" reached it.
    assert last["steps_after_stop"] <= 1, last
    assert last["stats"]["generated_tokens"] < 200
    assert last["stop_ms"] < 500, f"the page stopped {last['stop_ms']:.0f} ms after the click"
    assert latency < 2, f"stopping took {latency:.2f} s"
    print(
        f"stopped {last['stop_ms']:.0f} ms after the click (in the page), "
        f"{last['steps_after_stop']} step later"
    )
    assert page.page.is_disabled('[data-testid="stop"]')

    again = page.write("Once upon a time", {"max_new_tokens": "12", "seed": "7"})
    assert again["stop_reason"] in ("max_tokens", "eos")
    assert page.state() == "ready"


def test_escape_stops_and_ctrl_enter_writes(tiny_wasm):
    page = tiny_wasm
    page.fill("A cat sat")
    page.settings(**LONG)
    before = page.stories()
    page.page.focus('[data-testid="free-text"]')
    page.page.keyboard.press("Control+Enter")
    page.wait_streamed(3)
    page.page.keyboard.press("Escape")
    last = page.wait_finished(before, timeout=30_000)
    assert last["stop_reason"] == "cancelled"


def test_twenty_stories_in_a_row(tiny_wasm):
    page = tiny_wasm
    page.fill("The fox", character="a curious fox", setting="a snowy mountain")
    page.settings(max_new_tokens="24", temperature="0.9")
    page.wait_finished(page.click_generate())  # warm up before measuring
    memory_before = page.memory()
    errors_before = len(page.hook("errors"))
    seeds = set()
    for n in range(20):
        last = page.wait_finished(page.click_generate())
        assert last["stop_reason"] in ("max_tokens", "eos"), n
        assert page.state() == "ready", page.status_text()
        seeds.add(last["seed"])
    memory_after = page.memory()
    assert len(seeds) == 20  # an empty seed field draws a fresh seed each time
    assert len(page.hook("errors")) == errors_before
    growth = {
        k: (memory_after[k] - memory_before[k]) / 1e6
        for k in memory_before
        if isinstance(memory_before.get(k), (int, float))
        and isinstance(memory_after.get(k), (int, float))
    }
    print(f"memory before {memory_before}, after {memory_after}, growth MB {growth}")
    # The Python heap and the page may breathe, but 20 short stories must not leak steadily.
    assert growth.get("python_heap_bytes", 0) < 64, growth
    if "agent_bytes" in growth:
        assert growth["agent_bytes"] < 200, growth


def test_surprise_me_fills_the_form_in_the_chosen_language(tiny_wasm):
    page = tiny_wasm.page
    tiny_wasm.fill("")  # earlier stories left fields filled: wait for the idea, not for them
    page.select_option("#language", "fr")
    page.click("#surprise")
    page.wait_for_function("document.querySelector('#character').value !== ''")
    fields = {
        name: page.input_value(f"#{name}") for name in ("character", "setting", "theme", "tone")
    }
    assert all(fields.values()), fields
    french = ("un ", "une ", "des ", "l'", "la ", "le ")
    assert fields["character"].startswith(french) or fields["setting"].startswith(french), fields
    page.select_option("#language", "en")


def test_the_form_shows_pyshell_s_limits_tones_and_defaults(tiny_wasm):
    """The numbers the form shows come from pyshell (js/shared/pyshell-settings.js), not from copies."""
    page = tiny_wasm.page
    for language in ("en", "fr"):
        page.select_option("#language", language)
        options = page.eval_on_selector_all("#tones option", "els => els.map(e => e.value)")
        assert options == list(TONES[language])
    page.select_option("#language", "en")
    for name in ("temperature", "top_p", "repetition_penalty"):
        assert page.get_attribute(f"#{name}", "placeholder") == str(SETTINGS[name].default)
    if not page.is_visible("#temperature"):
        page.click("#advanced summary")
    hint = page.inner_text('label[for="temperature"] .hint')
    assert hint == "0–2; 0 is always the likeliest word", hint
    assert page.inner_text('label[for="top_p"] .hint') == "above 0, at most 1"
    page.fill('[data-testid="free-text"]', "abc")
    assert page.inner_text("#text-count") == f"3 / {MAX_TEXT_CHARS:,} characters"


def test_copy_and_download_the_story(tiny_wasm):
    page = tiny_wasm
    last = page.write("Copy me", {"max_new_tokens": "8", "seed": "3"})
    page.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.page.click("#copy")
    copied = page.page.evaluate("navigator.clipboard.readText()")
    assert copied == last["prompt"] + last["text"]
    with page.page.expect_download() as download:
        page.page.click("#download")
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert saved.startswith(copied.strip())
    assert "AI-generated" in saved and "Gemma 3 270M" in saved


def test_terms_and_notice_are_linked_next_to_the_story(tiny_wasm):
    page = tiny_wasm.page
    notice = page.inner_text(".ai-notice")
    assert "AI-generated" in notice and "Gemma 3 270M" in notice
    for href in ("model/GEMMA_TERMS.html", "model/NOTICE"):
        link = page.locator(f'.ai-notice a[href="{href}"]')
        assert link.count() == 1
        response = page.request.get(link.evaluate("a => a.href"))
        assert response.ok, href


def test_an_exception_in_surprise_me_is_an_ordinary_error(tiny_wasm):
    """pyshell throws (a language that cannot even be written as text, so that its own
    refusal fails): the page says so and goes on."""
    page = tiny_wasm
    p = page.page
    worker = page.engine()
    worker.evaluate(
        """() => {
          self.realOnmessage = self.onmessage;
          self.onmessage = (event) => {
            if (event.data?.type === "surprise") {
              event.data.language = { toString() { throw new Error("not text"); } };
            }
            self.realOnmessage(event);
          };
        }"""
    )
    try:
        errors = len(page.hook("errors"))
        p.click("#surprise")
        p.wait_for_function("([n]) => window.conteur.errors.length > n", arg=[errors])
    finally:
        worker.evaluate("() => { self.onmessage = self.realOnmessage; }")
    status = page.status_text()
    assert "Surprise me could not come up with an idea" in status, status
    assert page.state() == "error"
    assert p.get_attribute('[data-testid="status"]', "data-fatal") == "false"
    assert p.is_hidden('[data-testid="engine-reload"]')
    assert p.is_enabled('[data-testid="generate"]') and p.is_enabled("#surprise")
    tiny_wasm.fill("")
    p.click("#surprise")  # and it works again
    p.wait_for_function("document.querySelector('#character').value !== ''")
    last = page.write("Once upon a time", {"max_new_tokens": "6", "seed": "1"})
    assert last["stop_reason"] in ("max_tokens", "eos") and page.state() == "ready"
