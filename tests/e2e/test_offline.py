"""After one visit the page works with the server stopped and the network off (PWA).

Uses its own server (so it can stop it) and a persistent profile, as an
installed app would have, on each backend: the service worker keeps the core
files and the files of the backend that ran. A new site version then replaces
the old cache, carrying those files over.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from urllib.parse import urlparse

import pytest

from tests.e2e.backend_files import backend_only_files
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    E2E,
    WEBGPU_ARG,
    copy_site,
    record,
    start_server,
)
from tests.e2e.story_page import StoryPage

pytestmark = pytest.mark.browser


CACHED_PATHS = """async (prefix) => {
  const paths = [];
  for (const name of await caches.keys()) {
    if (!name.startsWith(`conteur:${prefix}`)) continue;
    for (const request of await (await caches.open(name)).keys()) paths.push(new URL(request.url).pathname);
  }
  return paths.filter((path) => path.startsWith(prefix)).map((path) => path.slice(prefix.length));
}"""


def open_persistent(playwright, profile, requests_seen, webgpu=False):
    args = CHROMIUM_ARGS + ([WEBGPU_ARG] if webgpu else [])
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), args=args
    )
    record(context, requests_seen)
    return context


def cached_paths(page, site_name: str) -> set[str]:
    """Paths under /site_name/ held in the site's service-worker caches."""
    return set(page.page.evaluate(CACHED_PATHS, f"/{site_name}/"))


def wait_cached(page, site_name: str, paths: set[str], timeout_s: float = 30) -> set[str]:
    """The cached paths once they include `paths` (a download's cache copy may finish last)."""
    deadline = time.monotonic() + timeout_s
    cached = cached_paths(page, site_name)
    while not paths <= cached and time.monotonic() < deadline:
        page.page.wait_for_timeout(250)
        cached = cached_paths(page, site_name)
    return cached


@pytest.mark.parametrize("backend", ["wasm", "webgpu"])
def test_works_offline_after_one_visit(
    playwright, tiny_site, requests_seen, allowed_origins, tmp_path, backend
):
    """The first visit caches the core files and what its backend loaded, nothing else."""
    server, origin = start_server(E2E, allowed_origins)
    context = open_persistent(playwright, tmp_path / "profile", requests_seen, backend == "webgpu")
    other = "wasm" if backend == "webgpu" else "webgpu"
    config = json.loads((tiny_site / "model" / "conteur.json").read_text())
    try:
        page = StoryPage(context.pages[0] if context.pages else context.new_page())
        page.page.goto(f"{origin}/tiny/?backend={backend}")
        page.wait_loaded()
        page.assert_ready()
        assert page.backend() == backend
        assert page.hook("offline") is True
        first = page.hook("timings")
        online = page.write("Once upon a time", {"max_new_tokens": "8", "seed": "5"})
        cached = wait_cached(page, "tiny", backend_only_files(config, backend))
        assert backend_only_files(config, backend) <= cached
        assert not cached & backend_only_files(config, other), sorted(cached)

        server.shutdown()
        server.server_close()
        context.set_offline(True)
        page.page.reload()
        page.wait_loaded()
        page.assert_ready()
        assert page.backend() == backend
        again = page.hook("timings")
        offline = page.write("Once upon a time", {"max_new_tokens": "8", "seed": "5"})
        assert offline["ids"] == online["ids"]
        assert page.page.evaluate("crossOriginIsolated") is True
        persisted = page.page.evaluate("navigator.storage.persisted()")
        print(
            f"{backend}: first visit ready after {first['page_s']:.1f} s "
            f"(Python {first['python_s']:.1f} s); offline reload ready after "
            f"{again['page_s']:.1f} s (Python {again['python_s']:.1f} s); "
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
    """The new version downloads only what changed: the backend's files come over too."""
    site = E2E / "update"
    copy_site(tiny_site, site)
    page = new_page(browser, f"{origin}/update/?backend=wasm")
    page.assert_ready()
    caches = "caches.keys().then(k => k.filter(n => n.startsWith('conteur:/update/')))"
    old = page.page.evaluate(caches)
    assert len(old) == 1
    wasm_files = backend_only_files(
        json.loads((site / "model" / "conteur.json").read_text()), "wasm"
    )
    assert wasm_files <= wait_cached(page, "update", wasm_files)

    version = _bump_version(site)
    before = len(page.downloads)
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
    assert wasm_files <= cached_paths(page, "update")  # copied from the old cache
    downloaded = {urlparse(url).path.removeprefix("/update/") for url in page.downloads[before:]}
    assert "app.css" in downloaded  # the one changed file
    assert not downloaded & wasm_files, sorted(downloaded & wasm_files)


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
