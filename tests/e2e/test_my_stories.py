"""My stories: every finished or stopped story is kept on the device (IndexedDB), as shown.

One page of its own (a fresh profile, tiny model on WASM), through the module in
order: two stories kept and replayable in CPython, a reload with the network off,
the caches deleted and another build of the site opened, deleting one and then all
after a question, and "Run on" changed mid-story, which asks first and keeps the
stopped story. Each test reads IndexedDB with its own API
(StoryPage.saved_stories), not through the page's code.
"""

from __future__ import annotations

import pytest

from tests.e2e import reference

pytestmark = pytest.mark.browser

LONG = {"max_new_tokens": "200", "temperature": "1", "seed": "7"}
SHORT = {"max_new_tokens": "12", "seed": "11"}


@pytest.fixture(scope="module")
def library_page(browser, new_page, origin, tiny_site):
    page = new_page(browser, f"{origin}/tiny/?backend=wasm")
    page.assert_ready()
    page.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    return page


def entries(page) -> list:
    return page.page.locator('[data-testid="saved-story"]').all()


def open_panel(page) -> None:
    if page.page.get_attribute("#my-stories-panel", "open") is None:
        page.page.click("#my-stories-panel > summary")


def test_finished_and_stopped_stories_are_kept_as_shown(library_page, tiny_model_dir):
    page = library_page
    assert page.hook("saved") == 0 and page.saved_stories() == []

    finished = page.write("Once upon a time", SHORT)
    finished_text = page.story_text()
    page.fill("A cat sat")
    page.settings(**LONG)
    before = page.click_generate()
    page.wait_streamed(5)
    page.page.click('[data-testid="stop"]')
    stopped = page.wait_finished(before, timeout=30_000)
    stopped_text = page.story_text()
    assert stopped["stop_reason"] == "cancelled"
    page.page.wait_for_function("window.conteur.saved === 2")

    first, second = page.saved_stories()
    # Exactly what the reader saw, and what CPython needs to write it again.
    assert first["text"] == finished_text == finished["prompt"] + finished["text"]
    assert first["opening"] == finished["prompt"]
    assert first["seed"] == "11" and first["sampling"] == finished["sampling"]
    assert first["request"] == finished["request"] and first["ids"] == finished["ids"]
    assert first["settings"] == {
        "temperature": "", "top_p": "", "repetition_penalty": "", "max_new_tokens": "12",
        "seed": "11", "family_safe": True,
    }  # fmt: skip
    assert first["stopReason"] == finished["stop_reason"] and first["backend"] == "wasm"
    assert first["model"] == "tiny" and first["tokens"] == len(finished["ids"])
    assert reference.replay(tiny_model_dir, first, "wasm").ids == first["ids"]

    assert second["text"] == stopped_text and second["stopReason"] == "cancelled"
    assert second["seed"] == "7" and second["ids"] == stopped["ids"]
    assert second["tokens"] == len(stopped["ids"]) < 200

    # Listed newest first, readable, copyable.
    open_panel(page)
    assert "My stories (2)" in page.page.inner_text('[data-testid="my-stories"]')
    newest, oldest = entries(page)
    assert newest.get_attribute("data-stop-reason") == "cancelled"
    assert newest.inner_text().startswith("A cat sat")  # the reader's own words as its title
    oldest.locator("summary").click()
    assert oldest.locator(".saved-text").inner_text() == finished_text
    meta = oldest.locator(".saved-meta").inner_text()
    assert "CPU (WebAssembly)" in meta and "seed 11" in meta, meta
    oldest.locator('[data-testid="saved-copy"]').click()
    page.page.wait_for_function(
        "([text]) => navigator.clipboard.readText().then((t) => t === text)", arg=[finished_text]
    )


def test_stories_survive_a_reload_with_the_network_off(library_page):
    page = library_page
    before = page.saved_stories()
    context = page.page.context
    context.set_offline(True)
    try:
        page.page.reload()
        # Listed from IndexedDB as the page starts, before the model has loaded.
        page.page.wait_for_function("window.conteur && window.conteur.saved === 2")
        open_panel(page)
        texts = [e.locator(".saved-text").text_content() for e in entries(page)]
        assert texts == [before[1]["text"], before[0]["text"]]
        page.wait_loaded()  # the model too comes from the service worker's cache
        page.assert_ready()
    finally:
        context.set_offline(False)
    assert page.saved_stories() == before


def test_stories_outlive_the_caches_and_are_read_by_another_build(
    library_page, origin, wrong_check_site
):
    """An update deletes the old version's caches and installs another build: the stories
    live in IndexedDB, apart from both."""
    page = library_page
    before = page.saved_stories()
    page.page.evaluate(
        """async () => {
          for (const key of await caches.keys()) await caches.delete(key);
          for (const registration of await navigator.serviceWorker.getRegistrations()) {
            await registration.unregister();
          }
        }"""
    )
    page.page.reload()
    page.page.wait_for_function("window.conteur && window.conteur.saved === 2")
    assert page.saved_stories() == before
    page.wait_loaded()

    # Another build of the site (another version, another model) on the same origin.
    page.page.goto(f"{origin}/wrong-check/?backend=wasm")
    page.page.wait_for_function("window.conteur && window.conteur.saved === 2")
    open_panel(page)
    assert [e.get_attribute("data-seed") for e in entries(page)] == ["7", "11"]
    page.wait_loaded()
    page.page.goto(f"{origin}/tiny/?backend=wasm")
    page.wait_loaded()
    page.assert_ready()


def test_delete_one_then_all_after_a_question(library_page):
    page = library_page
    open_panel(page)
    first, _ = page.saved_stories()
    newest = entries(page)[0]
    newest.locator("summary").click()
    newest.locator('[data-testid="saved-delete"]').click()
    page.page.wait_for_function("window.conteur.saved === 1")
    assert [s["id"] for s in page.saved_stories()] == [first["id"]]
    assert len(entries(page)) == 1

    page.write("Once upon a time", SHORT)
    page.page.wait_for_function("window.conteur.saved === 2")
    question = page.page.locator('[data-testid="confirm-delete-all"]')
    page.page.click('[data-testid="delete-all"]')
    assert question.is_visible()
    assert "Delete all 2 stories kept on this device?" in question.inner_text()
    question.locator('[data-answer="no"]').click()
    assert question.is_hidden() and len(page.saved_stories()) == 2

    page.page.click('[data-testid="delete-all"]')
    question.locator('[data-answer="yes"]').click()
    page.page.wait_for_function("window.conteur.saved === 0")
    assert page.saved_stories() == [] and entries(page) == []
    assert "Every story you write is kept here" in page.page.inner_text("#my-stories-note")
    assert page.page.is_hidden('[data-testid="delete-all"]')


def test_changing_run_on_mid_story_asks_first_and_keeps_the_story(library_page, origin):
    page = library_page
    url = page.page.url
    question = page.page.locator('[data-testid="backend-confirm"]')
    page.fill("The lighthouse")
    page.settings(**LONG)

    # "Keep writing": no reload, the choice goes back, the story goes on.
    before = page.click_generate()
    page.wait_streamed(3)
    page.page.select_option("#backend-choice", "webgpu")
    assert question.is_visible(), "the page reloaded without asking"
    assert "A story is being written" in question.inner_text()
    streamed = page.hook("streamed")
    question.locator('[data-answer="no"]').click()
    assert page.page.input_value("#backend-choice") == "wasm"
    assert page.page.url == url
    kept = page.wait_finished(before)
    assert len(kept["ids"]) > streamed  # it went on writing
    assert page.page.evaluate("localStorage.getItem('conteur-backend')") is None

    # "Stop and switch": the story stops, is kept, and the page reloads on WebGPU.
    saved = page.hook("saved")
    page.click_generate()
    page.wait_streamed(3)
    page.page.select_option("#backend-choice", "webgpu")
    shown = page.story_text()
    with page.page.expect_navigation():
        question.locator('[data-answer="yes"]').click()
    page.wait_loaded()
    page.assert_ready()
    assert page.backend() == "webgpu"
    assert page.page.url.endswith("?backend=webgpu")
    stories = page.saved_stories()
    assert len(stories) == saved + 1
    assert stories[-1]["stopReason"] == "cancelled"
    assert stories[-1]["text"].startswith(shown) and stories[-1]["backend"] == "wasm"
