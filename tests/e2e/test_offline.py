"""After one visit the page works with the server stopped and the network off (PWA).

Uses its own server (so it can stop it) and a persistent profile, as an
installed app would have, on each backend: the service worker keeps the core
files and the files of the backend that ran, and the page says it works offline
only once they are kept. A new site version then waits beside the old one until
the reader reloads through the banner, keeping those files rather than downloading
or copying them, and the old version's files go once no page uses it.
"""

from __future__ import annotations

import json
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
from tests.e2e.deploy import deploy_new_version
from tests.e2e.faults import wait_true
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
        str(profile), executable_path=str(CHROMIUM), args=args, bypass_csp=True
    )
    record(context, requests_seen)
    return context


def cached_paths(page, site_name: str) -> set[str]:
    """Paths under /site_name/ held in the site's service-worker caches."""
    return set(page.page.evaluate(CACHED_PATHS, f"/{site_name}/"))


def kept_versions(page, site_name: str) -> dict[str, int]:
    """Paths of the site's kept files → how many versions of each are kept; and manifests."""
    return page.page.evaluate(KEPT_VERSIONS, f"/{site_name}/")


KEPT_VERSIONS = """async (prefix) => {
  const out = {};
  for (const name of await caches.keys()) {
    if (!name.startsWith(`conteur:${prefix}`)) continue;
    for (const request of await (await caches.open(name)).keys()) {
      const path = new URL(request.url).pathname.slice(prefix.length);
      out[path] = (out[path] ?? 0) + 1;
    }
  }
  return out;
}"""


def wait_offline_known(page) -> bool:
    """Whether the page says it works offline, once the service worker has answered."""
    page.page.wait_for_function("window.conteur.offline !== null", timeout=60_000)
    return page.hook("offline")


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
        assert wait_offline_known(page) is True
        assert page.page.get_attribute('[data-testid="offline-state"]', "data-state") == "yes"
        assert page.page.inner_text('[data-testid="offline-state"]') == "works offline"
        first = page.hook("timings")
        online = page.write("Once upon a time", {"max_new_tokens": "8", "seed": "5"})
        cached = wait_cached(page, "tiny", backend_only_files(config, backend))
        assert backend_only_files(config, backend) <= cached
        assert not cached & backend_only_files(config, other), sorted(cached)
        assert "model/tokenizer.model" not in cached  # the page loads tokenizer.pieces alone

        server.shutdown()
        server.server_close()
        context.set_offline(True)
        asked_before = len(requests_seen)
        page.page.reload()
        page.wait_loaded()
        page.assert_ready()
        assert page.backend() == backend
        again = page.hook("timings")
        # The worker reads the stored model files from the cache itself, not through a
        # fetch the service worker answers (js/shared/stored-files.js).
        model_files = {f"/tiny/model/{name}" for name in config["files"]}
        asked = {urlparse(url).path for url in requests_seen[asked_before:]}
        assert not asked & model_files, sorted(asked & model_files)
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


def test_a_new_version_waits_for_the_reader_and_keeps_the_unchanged_files(
    browser, new_page, origin, tiny_site, allowed_origins
):
    """The new version downloads only what changed and keeps the backend's files as they are."""
    site = E2E / "update"
    copy_site(tiny_site, site)
    page = new_page(browser, f"{origin}/update/?backend=wasm")
    page.assert_ready()
    old_version = page.page.get_attribute("html", "data-version")
    wasm_files = backend_only_files(
        json.loads((site / "model" / "conteur.json").read_text()), "wasm"
    )
    assert wasm_files <= wait_cached(page, "update", wasm_files)

    version = deploy_new_version(site)
    before = len(page.downloads)
    page.page.reload()  # the old version loads; the browser finds and installs the new one
    page.wait_loaded()
    page.assert_ready()
    banner = page.page.locator('[data-testid="update-ready"]')
    page.page.wait_for_function(
        "document.querySelector('[data-testid=\"update-ready\"]').dataset.state === 'ready'",
        timeout=60_000,
    )
    assert banner.inner_text().startswith("A new version is ready — reload")
    assert page.page.get_attribute("html", "data-version") == old_version  # still the old one
    kept = kept_versions(page, "update")
    assert kept["app.css"] == 2  # the changed file, once for each version
    assert all(kept[path] == 1 for path in wasm_files)  # unchanged: kept once, not copied
    assert kept[f"__conteur__/versions/{old_version}.json"] == 1
    assert kept[f"__conteur__/versions/{version}.json"] == 1

    page.page.click('[data-testid="update-reload"]')
    page.page.wait_for_function(f"document.documentElement.dataset.version === '{version}'")
    page.wait_loaded()
    page.assert_ready()
    css = page.page.evaluate("fetch('app.css').then(r => r.text())")
    assert css.rstrip().endswith("/* new version */")
    wait_true(  # the old version goes once no page uses it
        page,
        "caches.open('conteur:/update/:versions').then(c => c.keys()).then(k => k.length === 1)",
        timeout_s=30,
    )
    kept = kept_versions(page, "update")
    assert f"__conteur__/versions/{old_version}.json" not in kept
    assert kept["app.css"] == 1 and all(kept[path] == 1 for path in wasm_files)
    downloaded = {urlparse(url).path.removeprefix("/update/") for url in page.downloads[before:]}
    assert "app.css" in downloaded  # the one changed file
    assert not downloaded & wasm_files, sorted(downloaded & wasm_files)


def test_without_a_service_worker_the_page_still_loads(browser, new_page, origin, tiny_site):
    """Where service workers are blocked the engine downloads the files itself."""
    page = new_page(browser, f"{origin}/tiny/?backend=wasm", service_workers="block")
    page.assert_ready()
    assert page.hook("offline") is False
    assert page.page.inner_text('[data-testid="offline-state"]') == "online only"
    assert page.page.get_attribute('[data-testid="offline-state"]', "data-state") == "no"
    # Progress was shown per file, then hidden.
    assert page.page.locator("#progress-files li").count() >= 1
    assert page.page.is_hidden("#progress")
    page.write("Once upon a time", {"max_new_tokens": "4", "seed": "1"})
