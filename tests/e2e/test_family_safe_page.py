"""The family-safe switch on the page: on by default, a field error, remembered when off.

pyshell decides (pyshell.story.plan_story, pyshell.family_safe); the page only
sends the switch with the settings and shows pyshell's code in its own words.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser

SWITCH = '[data-testid="family-safe"]'
OK_SETTINGS = {"max_new_tokens": "6", "seed": "1"}


def saved_settings(page) -> dict:
    return json.loads(page.evaluate("localStorage.getItem('conteur-settings') ?? '{}'"))


def test_a_listed_character_gets_a_field_error_until_the_switch_is_off(tiny_wasm):
    page = tiny_wasm
    page.page.evaluate("localStorage.removeItem('conteur-settings')")
    page.page.reload()
    page.wait_loaded()
    assert page.page.is_checked(SWITCH)  # family-safe by default

    page.fill("", character="a drunk pirate")
    page.settings(**OK_SETTINGS)
    status = page.error_after_generate()
    assert "“drunk”" in status and "family-safe" in status, status
    assert page.page.get_attribute("#character", "aria-invalid") == "true"
    assert "turn off family-safe stories" in page.page.inner_text("#character-error")

    page.page.uncheck(SWITCH)  # the reader's call, for adults
    assert page.page.is_hidden("#character-error")
    assert saved_settings(page.page)["family_safe"] is False  # remembered at once
    last = page.wait_finished(page.click_generate())
    assert last["sampling"]["family_safe"] is False
    assert last["request"]["character"] == "a drunk pirate"

    page.page.reload()
    page.wait_loaded()
    assert not page.page.is_checked(SWITCH)  # still off after a reload

    page.page.click("#advanced summary")  # closed again after the reload
    page.page.click("#reset-settings")
    assert page.page.is_checked(SWITCH)  # defaults: on again
    last = page.write("Once upon a time", OK_SETTINGS)
    assert last["sampling"]["family_safe"] is True
