"""What the fault tests share: a site copy behind the fault server, and what the page shows and stores.

Each test gets its own copy of the tiny (or real) site, served by its own fault server
(tests/e2e/fault_server.py) on its own origin, so service workers, caches and faults
never leak from one test to the next. The page is read the way a reader sees it
(status, data-state attributes, banners) and its storage the way the page holds it
(CacheStorage, read from the page and hashed there).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

from tests.e2e.conftest import E2E, copy_site
from tests.e2e.deploy import read_build
from tests.e2e.fault_server import Faults, fault_server

FAULTS = E2E / "faults"

# The site's stored files as the page reads them: {path: [{header, actual}]}, one item
# per kept version of the file (sw.js keys each by URL and sha256), where header is
# the sha256 it was stored under and actual the sha256 of its bytes; and the versions
# whose manifest is kept.
STORED = r"""async (prefix) => {
  const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const files = {};
  const versions = [];
  for (const name of await caches.keys()) {
    if (!name.startsWith(`conteur:${prefix}`)) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const path = new URL(request.url).pathname.slice(prefix.length);
      if (path.startsWith("__conteur__/versions/")) {
        versions.push(path.split("/").pop().replace(/\.json$/, ""));
        continue;
      }
      const response = await cache.match(request);
      const actual = hex(await crypto.subtle.digest("SHA-256", await response.arrayBuffer()));
      (files[path] ??= []).push({ header: response.headers.get("X-Conteur-Sha256"), actual });
    }
  }
  return { files, versions };
}"""

# Records what the reader saw: every status state and every progress bar value, in order.
WATCH = """
window.__seen = { states: [], progress: [] };
new MutationObserver((records) => {
  for (const { target, attributeName } of records) {
    if (attributeName === "data-state" && target.dataset.testid === "status") {
      window.__seen.states.push(target.dataset.state);
    } else if (attributeName === "value" && target.tagName === "PROGRESS") {
      const row = target.closest("li")?.dataset.file ?? "";
      window.__seen.progress.push([row, Number(target.getAttribute("value")), Number(target.max)]);
    }
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state", "value"] });
"""


@dataclass
class FaultySite:
    """A site copy (`folder`) served at `url` by a fault server with `faults`."""

    name: str
    folder: Path
    origin: str
    faults: Faults
    server: ThreadingHTTPServer

    @property
    def url(self) -> str:
        return f"{self.origin}/{self.name}/"

    def path(self, site_path: str) -> str:
        """The URL path the fault server sees for a file of the site ("model/x" → "/name/model/x")."""
        return f"/{self.name}/{site_path}"

    def config(self) -> dict:
        return json.loads((self.folder / "model" / "conteur.json").read_text())

    def build(self) -> dict:
        return read_build(self.folder)

    def file(self, site_path: str) -> dict:
        """The BUILD entry (url, bytes, sha256, group; blocks when large) of one file."""
        return next(f for f in self.build()["files"] if f["url"] == site_path)

    def group_bytes(self, group: str) -> int:
        return sum(f["bytes"] for f in self.build()["files"] if f["group"] == group)


def serve_copy(site: Path, name: str, origins: set[str]) -> Iterator[FaultySite]:
    """Copy `site` to build/e2e/faults/`name` and serve it with a fresh fault server."""
    folder = FAULTS / name
    copy_site(site, folder)
    faults = Faults()
    server = fault_server(FAULTS, faults)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    origins.add(origin)
    try:
        yield FaultySite(name, folder, origin, faults, server)
    finally:
        for path in list(faults.holds):
            faults.release(path)
        server.shutdown()
        server.server_close()


def stored(page, site: FaultySite) -> dict[str, list[dict]]:
    """The site's kept files as the page reads them: {path: [{header, actual}, ...]}."""
    return page.page.evaluate(STORED, f"/{site.name}/")["files"]


def stored_versions(page, site: FaultySite) -> set[str]:
    """The versions whose manifest the service worker keeps."""
    return set(page.page.evaluate(STORED, f"/{site.name}/")["versions"])


def stored_paths(page, site: FaultySite) -> set[str]:
    return set(stored(page, site))


def seen(page) -> dict:
    """What the reader saw since the page opened: {states: [...], progress: [[row, value, max]]}."""
    return page.page.evaluate("window.__seen")


def attribute(page, testid: str, name: str = "data-state") -> str | None:
    return page.page.get_attribute(f'[data-testid="{testid}"]', name)


def wait_attribute(page, testid: str, value: str, name: str = "data-state", timeout: int = 60_000):
    page.page.wait_for_function(
        '([id, name, value]) => document.querySelector(`[data-testid="${id}"]`)'
        "?.getAttribute(name) === value",
        arg=[testid, name, value],
        timeout=timeout,
    )


def wait_offline_known(page, timeout: int = 60_000) -> bool:
    page.page.wait_for_function("window.conteur.offline !== null", timeout=timeout)
    return page.hook("offline")


def registration(page, expression: str):
    """Evaluate `expression` with `r`, the page's service-worker registration."""
    return page.page.evaluate(
        f"navigator.serviceWorker.getRegistration().then((r) => {expression})"
    )


# Note on the registration when the browser finds a new sw.js (its `updatefound`).
WATCH_UPDATE_FOUND = """navigator.serviceWorker.getRegistration().then((r) => {
  window.__conteurUpdateFound = false;
  r.addEventListener("updatefound", () => { window.__conteurUpdateFound = true; }, { once: true });
})"""


def check_for_update(page, timeout_s: float = 60) -> None:
    """What the browser does on a navigation: look for a new sw.js, until it finds it.

    An update() asked while the browser's own check runs (the one after a navigation)
    joins that check, which may have read the old sw.js (equivalent update jobs share
    one result), and then nothing is found: so it asks again until `updatefound` fires
    (or a new version is already installing or waiting: the browser's own check found it).
    """
    page.page.evaluate(WATCH_UPDATE_FOUND)
    deadline = time.monotonic() + timeout_s
    while True:
        registration(page, "r.update().catch(() => null)")
        asked = time.monotonic()
        while time.monotonic() - asked < 3:
            if registration(page, "window.__conteurUpdateFound || !!(r.installing || r.waiting)"):
                return
            page.page.wait_for_timeout(100)
        assert time.monotonic() < deadline, "the browser found no new sw.js"


def wait_true(page, expression: str, timeout_s: float = 60) -> None:
    """Until `expression` (which may be a promise) is truthy in the page.

    Playwright's wait_for_function takes a returned promise for a truthy value at once,
    so questions to the service worker or CacheStorage are polled from here.
    """
    deadline = time.monotonic() + timeout_s
    while not page.page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.page.wait_for_timeout(250)


def wait_new_version_waiting(page, timeout_s: float = 60) -> None:
    wait_true(
        page, "navigator.serviceWorker.getRegistration().then((r) => r.waiting !== null)", timeout_s
    )


def active_version(page) -> str:
    """The version of the service worker in charge (asked through its "version" message)."""
    return page.page.evaluate(
        """() => new Promise((resolve) => {
      navigator.serviceWorker.addEventListener("message", ({ data }) => {
        if (data?.type === "version") resolve(data.version);
      });
      navigator.serviceWorker.getRegistration().then((r) => r.active.postMessage({ type: "version" }));
    })"""
    )
