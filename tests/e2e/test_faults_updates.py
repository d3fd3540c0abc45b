"""A new version deployed while pages load, write, or run in two tabs: no page mixes versions.

The new build (tests/e2e/deploy.py) changes app.css and so index.html's version and
sw.js; the browser finds it on a navigation, or when the test asks as it would
(`registration.update()`). The new service worker installs and waits: it takes over
only when a reader presses "reload" on the banner and no other page is loading or
writing. A worker keeps the files of the version its page started with, and an old
version's files stay until no page uses it. Stories lost: none of these tests may
lose one.
"""

from __future__ import annotations

import pytest

from tests.e2e.deploy import deploy_new_version
from tests.e2e.faults import (
    WATCH,
    active_version,
    attribute,
    check_for_update,
    seen,
    serve_copy,
    stored,
    stored_versions,
    wait_attribute,
    wait_new_version_waiting,
    wait_true,
)
from tests.e2e.story_page import StoryPage

pytestmark = pytest.mark.browser

DATA = "model/model-cpu.onnx.data"
SHORT = {"max_new_tokens": "8", "seed": "3"}
LONG = {"max_new_tokens": "200", "temperature": "1", "seed": "7"}
SLOW = {"max_new_tokens": "40", "temperature": "1", "seed": "7"}  # on SwiftShader: ~30 s
NEW_CSS = "/* new version */"


@pytest.fixture
def faulty(request, tiny_site, allowed_origins):
    yield from serve_copy(tiny_site, request.node.name[5:40], allowed_origins)


def version_of(page) -> str:
    return page.page.get_attribute("html", "data-version")


def worker_fetch(page, path: str, what: str = "r.text()"):
    """Fetch `path` (relative to the site) from the page's module worker."""
    [worker] = [w for w in page.page.workers if "/js/worker/main.js" in w.url]
    return worker.evaluate(f"fetch('../../{path}').then((r) => {what})")


def reload_through_banner(page, new_version: str) -> None:
    page.page.click('[data-testid="update-reload"]')
    page.page.wait_for_function(
        "v => document.documentElement.dataset.version === v", arg=new_version, timeout=60_000
    )
    page.wait_loaded()
    page.assert_ready()


def test_a_deploy_while_the_page_loads_waits_until_the_reader_reloads(browser, new_page, faulty):
    size = faulty.file(DATA)["bytes"]
    faulty.faults.hold(faulty.path(DATA), size // 2)  # the first visit pauses mid-download
    page = new_page(browser, faulty.url + "?backend=wasm", wait_ready=False, init_script=WATCH)
    while faulty.faults.sent[faulty.path(DATA)] < size // 2:
        page.page.wait_for_timeout(100)
    old = version_of(page)
    new = deploy_new_version(faulty.folder)
    check_for_update(page)
    wait_new_version_waiting(page)  # installed, and waiting: the page is loading
    assert page.state() == "loading"
    faulty.faults.release(faulty.path(DATA))
    page.wait_loaded()
    page.assert_ready()
    assert "error" not in seen(page)["states"]
    assert version_of(page) == old and active_version(page) == old
    assert NEW_CSS not in worker_fetch(page, "app.css")  # its worker: its own version's files
    wait_attribute(page, "update-ready", "ready")
    assert page.page.inner_text('[data-testid="update-ready"]').startswith(
        "A new version is ready — reload"
    )
    page.write("Once upon a time", SHORT)
    assert registration_waiting(page)  # still not taken over

    reload_through_banner(page, new)
    assert active_version(page) == new
    assert NEW_CSS in page.page.evaluate("fetch('app.css').then((r) => r.text())")
    page.write("Once upon a time", SHORT)
    assert len(stored(page, faulty)[DATA]) == 1  # kept once, for both versions


# Twice a second: [the page's state, the waiting service worker's state or null].
WATCH_REGISTRATION = """() => {
  window.__registration = [];
  setInterval(async () => {
    const r = await navigator.serviceWorker.getRegistration();
    window.__registration.push([window.conteur.state, r.waiting?.state ?? null]);
  }, 500);
}"""


def registration_waiting(page) -> bool:
    return page.page.evaluate(
        "navigator.serviceWorker.getRegistration().then((r) => r.waiting !== null)"
    )


def test_a_deploy_while_the_page_writes_lets_the_story_finish(browser, new_page, faulty):
    # WebGPU on SwiftShader writes about one token a second: the install surely ends mid-story.
    page = new_page(browser, faulty.url + "?backend=webgpu", init_script=WATCH)
    page.assert_ready()
    old = version_of(page)
    new = deploy_new_version(faulty.folder)
    faulty.faults.hold(faulty.path("app.css"), 0)  # the new version's install waits for it
    check_for_update(page)
    page.fill("Once upon a time")
    page.settings(**SLOW)
    before = page.click_generate()
    page.wait_generating()
    page.page.evaluate(WATCH_REGISTRATION)
    faulty.faults.release(faulty.path("app.css"))  # it installs while the story is written
    last = page.wait_finished(before)
    assert last["stop_reason"] in ("max_tokens", "eos")  # not lost
    timeline = page.page.evaluate("window.__registration")
    assert ["generating", "installed"] in timeline, timeline  # it waited while the story went on
    assert "error" not in seen(page)["states"]
    assert active_version(page) == old
    wait_attribute(page, "update-ready", "ready")
    reload_through_banner(page, new)
    page.write("Once upon a time", SHORT)


def test_two_tabs_keep_working_through_an_update(browser, new_page, faulty):
    first = new_page(browser, faulty.url + "?backend=wasm", init_script=WATCH)
    first.assert_ready()
    context = first.page.context
    second_page = context.new_page()  # same browser profile: one service worker, one store
    second = StoryPage(second_page)
    second_page.goto(faulty.url + "?backend=wasm")
    second.wait_loaded()
    second.assert_ready()
    old = version_of(first)
    assert version_of(second) == old

    new = deploy_new_version(faulty.folder)
    check_for_update(first)
    wait_new_version_waiting(first)
    wait_attribute(first, "update-ready", "ready")
    wait_attribute(second, "update-ready", "ready")

    second.fill("Once upon a time")
    second.settings(**LONG)
    before = second.click_generate()
    second.wait_generating()  # best-of-2 may stream nothing until a sentence ends
    # The other tab is writing: the reload must wait. The tiny model's story lasts about
    # 1.5 s; a Playwright click on the first tab, now in the background, waited some
    # 0.9 s for its (throttled) animation frames and at times landed after the story
    # ended. The click event itself arrives within 0.05 s.
    first.page.dispatch_event('[data-testid="update-reload"]', "click")
    wait_attribute(first, "update-ready", "waiting", timeout=30_000)
    assert "the other Conteur tab has finished" in first.page.inner_text(
        '[data-testid="update-ready"]'
    )
    assert version_of(first) == old
    story = second.wait_finished(before)
    assert story["stop_reason"] in ("max_tokens", "eos")  # not lost

    first.page.wait_for_function(  # the first tab asked again, took the new version, reloaded
        "v => document.documentElement.dataset.version === v", arg=new, timeout=60_000
    )
    first.wait_loaded()
    first.assert_ready()
    first.write("Once upon a time", SHORT)

    # The second tab still runs the old version, and its worker still gets the old files.
    assert version_of(second) == old
    wait_attribute(second, "update-ready", "ready")
    assert NEW_CSS not in worker_fetch(second, "app.css")
    assert worker_fetch(second, "model/conteur.json", "r.headers.get('X-Conteur-Served')") == old
    again = second.write("Once upon a time", SHORT)
    assert again["stop_reason"] in ("max_tokens", "eos")
    assert stored_versions(first, faulty) == {old, new}  # the old one is still in use
    assert len(stored(first, faulty)["app.css"]) == 2

    second.page.click('[data-testid="update-reload"]')  # no new version waits: just reload
    second.page.wait_for_function(
        "v => document.documentElement.dataset.version === v", arg=new, timeout=60_000
    )
    second.wait_loaded()
    second.assert_ready()
    wait_true(  # nobody runs the old version now: its files go
        first,
        "caches.open(`conteur:${new URL('.', location.href).pathname}:versions`)"
        ".then((c) => c.keys()).then((k) => k.length === 1)",
        timeout_s=30,
    )
    assert stored_versions(first, faulty) == {new}
    assert len(stored(first, faulty)["app.css"]) == 1
    assert attribute(first, "status") == "ready" and attribute(second, "status") == "ready"
