"""Screenshots of the page mid-story with Gemma 3 270M, light and dark, plus a phone-sized one.

They go to build/e2e/screenshots/; with CONTEUR_SCREENSHOTS=1 the light and
dark ones replace docs/screenshot-light.png and docs/screenshot-dark.png
(shown in the README).
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.conftest import E2E, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.real_model]

STORY = {"character": "an old lighthouse keeper", "setting": "a small island", "tone": "gentle"}
SETTINGS = {"temperature": "0.7", "seed": "42", "max_new_tokens": "120"}
TOKENS_BEFORE_SHOT = 16


def test_screenshots_mid_story(real_wasm):
    page = real_wasm
    out = E2E / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    docs = os.environ.get("CONTEUR_SCREENSHOTS") == "1"
    p = page.page
    p.set_viewport_size({"width": 1280, "height": 860})
    page.fill("", **STORY)
    page.settings(**SETTINGS)
    p.click("#advanced summary")  # fold the settings away again for the picture
    before = page.click_generate()
    page.wait_streamed(TOKENS_BEFORE_SHOT)
    assert page.state() == "generating"
    for scheme in ("light", "dark"):
        p.emulate_media(color_scheme=scheme)
        p.evaluate("document.activeElement?.blur()")
        p.screenshot(path=str(out / f"screenshot-{scheme}.png"))
        if docs:
            p.screenshot(path=str(ROOT / "docs" / f"screenshot-{scheme}.png"))
    p.set_viewport_size({"width": 390, "height": 844})
    p.screenshot(path=str(out / "screenshot-phone.png"), full_page=True)
    # The phone layout has no sideways scrolling.
    assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    p.set_viewport_size({"width": 1280, "height": 860})
    p.emulate_media(color_scheme="light")
    p.click('[data-testid="stop"]')
    last = page.wait_finished(before)
    assert last["stop_reason"] == "cancelled"
    print(f"real/wasm mid-story: {last['stats']['decode_tokens_per_second']:.2f} tokens/s")
