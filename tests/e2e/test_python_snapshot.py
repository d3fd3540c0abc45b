"""Python's start from the build's snapshot (web/python_start.py, js/worker/pyodide-boot.js).

Every visit, the first included, starts the interpreter from the snapshot the build
made, with pyshell imported and the model's tokenizer loaded in it, and must write the
same story for the same seed as an interpreter started afresh, which loads the
tokenizer from its file. A snapshot Pyodide cannot start from costs a slower start and nothing else.
The snapshot an earlier version kept beside the site is deleted.
"""

from __future__ import annotations

import pytest

from tests.e2e.faults import wait_offline_known, wait_true
from web.build import PYTHON_START

pytestmark = pytest.mark.browser

SHORT = {"max_new_tokens": "8", "seed": "5"}

# Replace the stored snapshot with zeros of its length: the store's key (its sha256)
# and length stay right, so only Pyodide can tell. Returns how many entries it replaced.
DAMAGE = """async ([scope, path]) => {
  const cache = await caches.open(`conteur:${scope}:files`);
  let replaced = 0;
  for (const request of await cache.keys()) {
    if (new URL(request.url).pathname !== scope + path) continue;
    const stored = await cache.match(request);
    const length = (await stored.arrayBuffer()).byteLength;
    await cache.put(request, new Response(new Uint8Array(length), { headers: stored.headers }));
    replaced += 1;
  }
  return replaced;
}"""

# An earlier version's snapshot, kept in its own cache beside the site.
KEEP_OLD = """async (scope) => {
  const cache = await caches.open(`conteur-python:${scope}`);
  const url = new URL("__conteur__/python/an-older-build.snapshot", location.href).href;
  await cache.put(url, new Response(new Uint8Array(1 << 20)));
}"""


def reload_ready(page) -> dict:
    page.page.reload()
    page.wait_loaded()
    page.assert_ready()
    return page.hook("timings")


def test_the_first_visit_starts_python_from_the_builds_snapshot(
    browser, new_page, origin, tiny_site
):
    page = new_page(browser, f"{origin}/tiny/?backend=wasm")
    page.assert_ready()
    first = page.hook("timings")
    assert (first["python_from"], first["tokenizer_from"]) == ("snapshot", "snapshot")
    story = page.write("Once upon a time", SHORT)
    again = reload_ready(page)
    assert (again["python_from"], again["tokenizer_from"]) == ("snapshot", "snapshot")
    assert page.write("Once upon a time", SHORT)["ids"] == story["ids"]
    print(f"Python ready after {first['python_s']:.2f} s (first visit), {again['python_s']:.2f} s")


def test_a_snapshot_python_cannot_start_from_costs_only_a_slower_start(
    browser, new_page, origin, tiny_site
):
    page = new_page(browser, f"{origin}/tiny/?backend=wasm")
    page.assert_ready()
    assert wait_offline_known(page) is True  # the core files, the snapshot among them, kept
    from_snapshot = page.write("Once upon a time", SHORT)
    assert page.page.evaluate(DAMAGE, ["/tiny/", PYTHON_START]) == 1

    afresh = reload_ready(page)
    assert (afresh["python_from"], afresh["tokenizer_from"]) == ("start", "file")
    assert page.write("Once upon a time", SHORT)["ids"] == from_snapshot["ids"]


def test_the_snapshot_an_earlier_version_kept_is_deleted(browser, new_page, origin, tiny_site):
    page = new_page(browser, f"{origin}/tiny/?backend=wasm")
    page.assert_ready()
    page.page.evaluate(KEEP_OLD, "/tiny/")
    assert page.page.evaluate("caches.has('conteur-python:/tiny/')") is True
    reload_ready(page)
    wait_true(page, "caches.has('conteur-python:/tiny/').then((kept) => !kept)", 10)
