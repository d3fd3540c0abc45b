"""After one visit the page works with the server stopped and the network off (PWA).

Uses its own server (so it can stop it) and a persistent profile, as an
installed app would have; a new site version then replaces the old cache.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, E2E, copy_site, record, start_server
from tests.e2e.story_page import StoryPage

pytestmark = pytest.mark.browser


def open_persistent(playwright, profile, requests_seen):
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
    )
    record(context, requests_seen)
    return context


def test_works_offline_after_one_visit(
    playwright, tiny_site, requests_seen, allowed_origins, tmp_path
):
    server, origin = start_server(E2E, allowed_origins)
    context = open_persistent(playwright, tmp_path / "profile", requests_seen)
    try:
        page = StoryPage(context.pages[0] if context.pages else context.new_page())
        page.page.goto(f"{origin}/tiny/?backend=wasm")
        page.wait_loaded()
        page.assert_ready()
        assert page.hook("offline") is True
        first = page.hook("timings")
        online = page.write("Once upon a time", {"max_new_tokens": "8", "seed": "5"})

        server.shutdown()
        server.server_close()
        context.set_offline(True)
        page.page.reload()
        page.wait_loaded()
        page.assert_ready()
        again = page.hook("timings")
        offline = page.write("Once upon a time", {"max_new_tokens": "8", "seed": "5"})
        assert offline["ids"] == online["ids"]
        assert page.page.evaluate("crossOriginIsolated") is True
        persisted = page.page.evaluate("navigator.storage.persisted()")
        print(
            f"first visit ready after {first['page_s']:.1f} s (Python {first['python_s']:.1f} s); "
            f"offline reload ready after {again['page_s']:.1f} s (Python {again['python_s']:.1f} s); "
            f"storage persisted: {persisted}"
        )
    finally:
        context.close()
        server.server_close()


def _bump_version(site) -> str:
    """Change one small file as a rebuild would, and update sw.js to match."""
    css = site / "app.css"
    text = css.read_text() + "\n/* new version */\n"
    css.unlink()
    css.write_text(text)
    sw = site / "sw.js"
    source = sw.read_text()
    match = re.search(r"^const BUILD = (\{.*\});$", source, re.MULTILINE)
    build = json.loads(match.group(1))
    for entry in build["files"]:
        if entry["url"] == "app.css":
            entry.update(bytes=len(text.encode()), sha256=hashlib.sha256(text.encode()).hexdigest())
    build["version"] = "updated" + build["version"][7:]
    sw.unlink()
    sw.write_text(source.replace(match.group(0), f"const BUILD = {json.dumps(build)};"))
    return build["version"]


def test_a_new_version_replaces_the_old_cache(
    browser, new_page, origin, tiny_site, allowed_origins
):
    site = E2E / "update"
    copy_site(tiny_site, site)
    page = new_page(browser, f"{origin}/update/?backend=wasm")
    page.assert_ready()
    caches = "caches.keys().then(k => k.filter(n => n.startsWith('conteur:/update/')))"
    old = page.page.evaluate(caches)
    assert len(old) == 1

    version = _bump_version(site)
    page.page.reload()
    page.wait_loaded()
    page.page.wait_for_function(
        f"{caches}.then(k => k.length === 1 && k[0].endsWith('{version}'))", timeout=60_000
    )
    assert page.page.evaluate("navigator.serviceWorker.controller !== null")
    page.page.reload()
    page.wait_loaded()
    page.assert_ready()
    assert page.page.evaluate("document.styleSheets.length") >= 1
    css = page.page.evaluate("fetch('app.css').then(r => r.text())")
    assert css.rstrip().endswith("/* new version */")


def test_without_a_service_worker_the_page_still_loads(browser, new_page, origin, tiny_site):
    """Where service workers are blocked the engine downloads the files itself."""
    page = new_page(browser, f"{origin}/tiny/?backend=wasm", service_workers="block")
    page.assert_ready()
    assert page.hook("offline") is False
    assert "online only" in page.page.inner_text("#offline-state")
    # Progress was shown per file, then hidden.
    assert page.page.locator("#progress-files li").count() >= 1
    assert page.page.is_hidden("#progress")
    page.write("Once upon a time", {"max_new_tokens": "4", "seed": "1"})
