"""Python's start from the snapshot a first visit kept (js/worker/python-snapshot.js).

A first visit starts the interpreter afresh and keeps a memory snapshot of it; the
next visit of the same build starts from that snapshot and must write the same story
for the same seed. A snapshot that Pyodide cannot start from is dropped: the page
starts Python afresh, keeps a new snapshot, and the reader sees nothing but a slower
start.
"""

from __future__ import annotations

import pytest

from tests.e2e.deploy import read_build
from tests.e2e.faults import wait_offline_known

pytestmark = pytest.mark.browser

SHORT = {"max_new_tokens": "8", "seed": "5"}

# The snapshot cache's entries as {path: bytes} (paths under the site's folder).
SNAPSHOTS = """async (prefix) => {
  const out = {};
  const name = `conteur-python:${prefix}`;
  if (!(await caches.has(name))) return out;
  const cache = await caches.open(name);
  for (const request of await cache.keys()) {
    const body = await (await cache.match(request)).arrayBuffer();
    out[new URL(request.url).pathname.slice(prefix.length)] = body.byteLength;
  }
  return out;
}"""

# Replace every kept snapshot with zeros of the same length (its length header stays
# right, so only Pyodide can tell), and add another build's entry beside it.
DAMAGE = """async (prefix) => {
  const cache = await caches.open(`conteur-python:${prefix}`);
  for (const request of await cache.keys()) {
    const length = Number((await cache.match(request)).headers.get("X-Conteur-Bytes"));
    const headers = { "X-Conteur-Bytes": String(length) };
    await cache.put(request, new Response(new Uint8Array(length), { headers }));
  }
  const other = new URL("__conteur__/python/an-older-build.snapshot", location.href).href;
  await cache.put(other, new Response(new Uint8Array(16), { headers: { "X-Conteur-Bytes": "16" } }));
}"""


def kept_snapshots(page, timeout_ms: int = 30_000) -> dict[str, int]:
    """The site's kept snapshots once there is one (it is stored in the background)."""
    page.page.wait_for_function(
        f"({SNAPSHOTS})('/tiny/').then((kept) => Object.keys(kept).length > 0)", timeout=timeout_ms
    )
    return page.page.evaluate(SNAPSHOTS, "/tiny/")


def reload_ready(page) -> dict:
    page.page.reload()
    page.wait_loaded()
    page.assert_ready()
    return page.hook("timings")


def test_a_second_visit_starts_python_from_the_first_visits_snapshot(
    browser, new_page, origin, tiny_site
):
    page = new_page(browser, f"{origin}/tiny/?backend=wasm")
    page.assert_ready()
    first = page.hook("timings")
    assert first["python_from"] == "start"
    version = page.page.get_attribute("html", "data-version")
    kept = kept_snapshots(page)
    assert list(kept) == [f"__conteur__/python/{version}.snapshot"]
    assert kept[f"__conteur__/python/{version}.snapshot"] > 16 << 20  # the interpreter's memory
    fresh = page.write("Once upon a time", SHORT)

    again = reload_ready(page)
    assert again["python_from"] == "snapshot"
    assert page.write("Once upon a time", SHORT)["ids"] == fresh["ids"]
    print(
        f"Python ready after {first['python_s']:.2f} s started afresh, "
        f"{again['python_s']:.2f} s from the snapshot ({kept} bytes)"
    )


def test_a_damaged_snapshot_is_dropped_and_python_starts_afresh(
    browser, new_page, origin, tiny_site
):
    page = new_page(browser, f"{origin}/tiny/?backend=wasm")
    page.assert_ready()
    version = page.page.get_attribute("html", "data-version")
    ours = f"__conteur__/python/{version}.snapshot"
    good = kept_snapshots(page)[ours]
    fresh = page.write("Once upon a time", SHORT)
    page.page.evaluate(DAMAGE, "/tiny/")
    assert len(page.page.evaluate(SNAPSHOTS, "/tiny/")) == 2

    after_damage = reload_ready(page)
    assert after_damage["python_from"] == "start"
    assert page.write("Once upon a time", SHORT)["ids"] == fresh["ids"]
    # The damaged one was replaced, and storing it dropped the other build's entry.
    page.page.wait_for_function(
        f"({SNAPSHOTS})('/tiny/').then((kept) => Object.keys(kept).join() === '{ours}')",
        timeout=30_000,
    )
    assert page.page.evaluate(SNAPSHOTS, "/tiny/") == {ours: good}
    assert reload_ready(page)["python_from"] == "snapshot"


def with_quota(browser, new_page, url: str, origin: str, quota: int):
    """A page whose origin gets `quota` bytes of storage (CDP), as a small device would."""
    page = new_page(browser, "about:blank", wait_ready=False)
    cdp = page.page.context.new_cdp_session(page.page)
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": origin, "quotaSize": quota})
    page.page.goto(url)
    page.wait_loaded()
    page.assert_ready()
    return page


def test_the_snapshot_is_kept_only_where_it_leaves_the_model_its_room(
    browser_with_real_estimate, new_page, origin, tiny_site
):
    """Room for the site but not for the snapshot and 512 MB more: the model is kept
    (the page works offline) and the snapshot is not; with room, both are."""
    site_bytes = sum(f["bytes"] for f in read_build(tiny_site)["files"])
    url = f"{origin}/tiny/?backend=wasm"
    short = with_quota(browser_with_real_estimate, new_page, url, origin, site_bytes + 300_000_000)
    assert short.hook("timings")["python_from"] == "start"
    assert short.page.evaluate("navigator.storage.estimate().then((e) => e.quota)") < 600_000_000
    roomy = with_quota(browser_with_real_estimate, new_page, url, origin, 2_000_000_000)
    assert len(kept_snapshots(roomy)) == 1  # stored in the background, waited for
    # The short one decided long before: its worker stored nothing, and its site is kept.
    assert short.page.evaluate(SNAPSHOTS, "/tiny/") == {}
    assert wait_offline_known(short) is True
