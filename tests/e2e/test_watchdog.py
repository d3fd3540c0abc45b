"""The page never waits for the engine for ever (page/watchdog.js).

Faults are injected in the worker from the test side (Playwright evaluates code in
it): a worker that stops listening, one that drops the answer to a story asked for
during the speed check (what the worker did before it answered every request), and
one that closes mid-story. Playwright's clock stands in for the minutes of silence
the watchdog waits: installed once the page is ready, it drives the page's timers
only, never the worker's. Each test asserts what the reader sees, that Stop never
leaves "Stopping…" for good, and what "My stories" holds.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

LONG = {"max_new_tokens": "200", "temperature": "1", "seed": "7"}
SILENCE_S = 121  # past the 120 s a long request may stay silent (page/watchdog.js)
STOP_S = 61  # past the 60 s a stopped story, or an unanswered Stop, may take


@pytest.fixture
def fresh_page(browser, new_page, origin, tiny_site):
    """A tiny WASM page of its own (the faults leave its worker unusable)."""
    page = new_page(browser, f"{origin}/tiny/?backend=wasm")
    page.assert_ready()
    return page


def assert_stalled(page, *tasks: str) -> None:
    """The reader sees that the engine stopped answering (at one of `tasks`), and a way on."""
    p = page.page
    p.wait_for_function("window.conteur.state === 'error'")
    status = page.status_text()
    said = [f"The story engine stopped answering ({task})" in status for task in tasks]
    assert any(said), status
    assert "Stopping" not in status
    assert p.get_attribute('[data-testid="status"]', "data-fatal") == "true"
    assert p.is_visible('[data-testid="engine-reload"]')
    assert p.is_disabled('[data-testid="generate"]') and p.is_disabled('[data-testid="stop"]')
    assert p.get_attribute('[data-testid="story"]', "aria-busy") != "true"


def reload_and_write(page) -> None:
    """The way on: the reload button brings back a page that writes stories."""
    with page.page.expect_navigation():
        page.page.click('[data-testid="engine-reload"]')
    page.wait_loaded()
    page.assert_ready()
    last = page.write("Once upon a time", {"max_new_tokens": "6", "seed": "1"})
    assert last["stop_reason"] in ("max_tokens", "eos")


def test_a_story_and_a_stop_the_engine_never_answers(fresh_page):
    page = fresh_page
    page.write("Once upon a time", {"max_new_tokens": "8", "seed": "3"})
    page.page.wait_for_function("window.conteur.saved === 1")
    page.page.clock.install()
    page.engine().evaluate("() => { self.onmessage = () => {}; }")  # it hears nothing more

    page.fill("The lighthouse")
    page.settings(**LONG)
    page.page.click('[data-testid="generate"]')
    assert page.state() == "generating" and "Writing your story" in page.status_text()
    page.page.click('[data-testid="stop"]')
    assert "Stopping" in page.status_text()
    page.page.clock.fast_forward(STOP_S * 1000)
    # Stop unanswered, and the story past its time to end: whichever the watchdog saw first.
    assert_stalled(page, "to Stop", "while writing the story")
    assert len(page.saved_stories()) == 1  # nothing was shown, nothing new to keep

    reload_and_write(page)
    assert len(page.saved_stories()) == 2


def test_generate_during_the_speed_check_never_leaves_the_page_waiting(fresh_page):
    """The old worker dropped a story asked for during the speed check: the page waited for
    ever, and Stop then left it on "Stopping…". Dropping that answer again here, the
    watchdog must end the wait."""
    page = fresh_page
    p = page.page
    p.clock.install()
    page.engine().evaluate(
        """() => {
          const post = self.postMessage.bind(self);
          self.postMessage = (message, ...rest) => {
            if (message?.type === "error" && message.error?.name === "BusyError") return;
            post(message, ...rest);
          };
        }"""
    )
    if not p.is_visible('[data-testid="speed-check"]'):
        p.click("#advanced summary")
    page.fill("Once upon a time")
    page.settings(max_new_tokens="4", seed="3")
    p.evaluate(
        "() => { document.querySelector('[data-testid=speed-check]').click();"
        " document.querySelector('[data-testid=generate]').click(); }"
    )
    p.wait_for_function(
        "document.querySelector('[data-testid=speed-result]').dataset.state === 'done'",
        timeout=300_000,
    )
    assert page.state() == "generating"  # the story's answer never came
    p.click('[data-testid="stop"]')  # the worker answers Stop (nothing to stop)...
    assert "Stopping" in page.status_text()
    p.clock.fast_forward(STOP_S * 1000)  # ...but the story never ends
    assert_stalled(page, "while writing the story")
    assert page.saved_stories() == []

    reload_and_write(page)
    assert len(page.saved_stories()) == 1


def test_an_engine_gone_mid_story_keeps_what_was_shown(fresh_page):
    page = fresh_page
    page.page.clock.install()
    page.fill("A cat sat")
    page.settings(max_new_tokens="200", temperature="1")  # no seed: the page draws one
    page.page.click('[data-testid="generate"]')
    page.wait_streamed(5)
    page.engine().evaluate("() => { setTimeout(() => self.close(), 0); }")  # no error event
    page.page.wait_for_timeout(500)  # the last tokens already posted arrive
    shown = page.story_text()
    page.page.clock.fast_forward(SILENCE_S * 1000)
    assert_stalled(page, "while writing the story")
    assert page.story_text() == shown

    (kept,) = page.saved_stories()
    assert kept["text"] == shown and kept["stopReason"] == "interrupted"
    assert kept["seed"].isdigit() and 0 <= int(kept["seed"]) < 2**64
    assert kept["request"]["text"] == "A cat sat" and kept["settings"]["seed"] == ""
    assert kept["tokens"] >= 5 and kept["ids"] is None

    reload_and_write(page)
    stories = page.saved_stories()
    assert stories[0] == kept and len(stories) == 2
