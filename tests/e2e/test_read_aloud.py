"""Read aloud (js/read-aloud.js): the finished story, in its language, with a local voice.

Headless Chromium has no voices, so the page gets a stub speechSynthesis before
its scripts run (speech_stub.js): it records what is spoken (text, lang, voice)
and lets the test set the voices and end the reading. One page on the tiny
model (WASM) serves these tests; another, without speechSynthesis, only loads.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SPEECH_STUB = (Path(__file__).parent / "speech_stub.js").read_text()
BUTTON = '[data-testid="read-aloud"]'
SHORT = {"max_new_tokens": "12", "seed": "3"}
VOICES = [
    {"name": "Remote English", "lang": "en-US", "localService": False},
    {"name": "Local English", "lang": "en-GB", "localService": True},
    {"name": "Remote French", "lang": "fr-FR", "localService": False},
]


@pytest.fixture(scope="module")
def speaking_page(browser, new_page, origin, tiny_site):
    page = new_page(browser, f"{origin}/tiny/?backend=wasm", init_script=SPEECH_STUB)
    page.assert_ready()
    return page


def set_voices(page, voices) -> None:
    page.page.evaluate("(voices) => window.__speech.setVoices(voices)", voices)


def spoken(page) -> list[dict]:
    return page.page.evaluate("window.__speech.spoken")


def cancels(page) -> int:
    return page.page.evaluate("window.__speech.state.cancels")


def button_state(page) -> str:
    return page.page.get_attribute(BUTTON, "data-state") or ""


def start_reading(page) -> list[dict]:
    """Click Read aloud; returns what it queued."""
    before = len(spoken(page))
    page.page.click(BUTTON)
    page.page.wait_for_function("window.conteur.reading.state === 'speaking'")
    return spoken(page)[before:]


def collapsed(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_nothing_to_read_before_a_story(speaking_page):
    page = speaking_page
    set_voices(page, VOICES)
    assert page.page.is_disabled(BUTTON)
    assert button_state(page) == "empty"
    assert page.page.inner_text(BUTTON) == "Read aloud"
    assert page.page.get_attribute(BUTTON, "title") == "Write a story to hear it read aloud."
    assert page.page.is_hidden("#read-aloud-hint")


def test_reads_the_whole_story_in_its_language_with_a_local_voice(speaking_page):
    page = speaking_page
    set_voices(page, VOICES)
    page.write("Once upon a time", SHORT, language="en")
    assert page.page.is_enabled(BUTTON)
    assert button_state(page) == "ready"
    assert "Local English" in page.page.get_attribute(BUTTON, "title")

    queued = start_reading(page)
    # Everything shown is read, the opening included, in order.
    assert queued, "nothing was spoken"
    assert " ".join(u["text"] for u in queued) == collapsed(page.story_text())
    assert {u["lang"] for u in queued} == {"en-GB"}
    assert {u["voice"] for u in queued} == {"Local English"}  # local beats remote
    assert page.page.inner_text(BUTTON) == "Stop reading"
    assert page.page.get_attribute(BUTTON, "aria-pressed") == "true"
    assert page.hook("reading") == {"state": "speaking", "language": "en", "voice": "Local English"}
    assert page.page.is_enabled('[data-testid="stop"]')  # Stop ends a reading too

    page.page.evaluate("window.__speech.finishAll()")
    page.page.wait_for_function("window.conteur.reading.state === 'ready'")
    assert page.page.inner_text(BUTTON) == "Read aloud"
    assert page.page.get_attribute(BUTTON, "aria-pressed") == "false"
    assert page.page.is_disabled('[data-testid="stop"]')


def test_the_button_stop_escape_and_a_new_story_stop_the_reading(speaking_page):
    page = speaking_page
    set_voices(page, VOICES)
    page.write("The fox", SHORT, language="en")

    for how in ("button", "stop", "escape"):
        start_reading(page)
        before = cancels(page)
        if how == "button":
            page.page.click(BUTTON)  # "Stop reading"
        elif how == "stop":
            page.page.click('[data-testid="stop"]')
        else:
            page.page.keyboard.press("Escape")
        page.page.wait_for_function("window.conteur.reading.state === 'ready'")
        assert cancels(page) > before, how
        assert page.page.inner_text(BUTTON) == "Read aloud", how
        assert page.state() == "ready", how  # stopping a reading is not stopping a story

    start_reading(page)
    before = cancels(page)
    stories = page.click_generate()
    assert cancels(page) > before
    assert page.hook("reading")["state"] in ("empty", "ready")
    page.wait_finished(stories)
    assert button_state(page) == "ready"


def test_no_voice_for_the_story_language_disables_the_button_and_says_why(speaking_page):
    page = speaking_page
    set_voices(page, [v for v in VOICES if v["lang"].startswith("en")])
    page.write("Il était une fois", SHORT, language="fr")
    assert page.page.is_disabled(BUTTON)
    assert button_state(page) == "no-voice"
    reason = "No French voice on this device"
    assert reason in page.page.get_attribute(BUTTON, "title")
    assert page.page.is_visible("#read-aloud-hint")
    assert reason in page.page.inner_text("#read-aloud-hint")
    assert page.page.get_attribute(BUTTON, "aria-describedby") == "read-aloud-hint"

    # The system's voice list arrives late (Chrome's "voiceschanged"): the button wakes up.
    set_voices(page, VOICES)
    assert button_state(page) == "ready"
    assert page.page.is_hidden("#read-aloud-hint")
    queued = start_reading(page)
    assert {u["lang"] for u in queued} == {"fr-FR"}
    assert {u["voice"] for u in queued} == {"Remote French"}  # the only French one
    page.page.click(BUTTON)
    page.page.wait_for_function("window.conteur.reading.state === 'ready'")


def test_without_speech_synthesis_the_button_says_the_browser_cannot(
    browser, new_page, origin, tiny_site
):
    no_speech = (
        "Object.defineProperty(window, 'speechSynthesis', {value: undefined, configurable: true});"
    )
    page = new_page(
        browser, f"{origin}/tiny/?backend=wasm", wait_ready=False, init_script=no_speech
    )
    try:
        page.page.wait_for_function("window.conteur && window.conteur.reading")
        assert button_state(page) == "unsupported"
        assert page.page.is_disabled(BUTTON)
        assert page.page.inner_text("#read-aloud-hint") == "This browser cannot read aloud."
        assert page.page.get_attribute(BUTTON, "title") == "This browser cannot read aloud."
    finally:
        page.page.context.close()
