"""Low memory: a device that reports too little, and allocations that fail.

A device that reports less than 2 GB (navigator.deviceMemory, set from the test
side) is asked before the model loads, with what is needed and what to close. An
allocation that fails is injected by serving the worker through a wrapper module
(a Playwright route, with the service worker blocked so that the route sees the
request): the wrapper makes `new Uint8Array(n)` throw V8's "Array buffer allocation
failed" for the sizes of one backend's weights, then imports the real worker. On
WebGPU the page falls back to WASM; on WASM it says how much memory is needed.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import site_config

pytestmark = pytest.mark.browser

REPORTS_1_GB = "Object.defineProperty(Navigator.prototype, 'deviceMemory', { get: () => 1 });"
# The worker as served in the tests below: allocations of the refused sizes fail.
REFUSING_WORKER = """
const refused = new Set(%s);
const RealUint8Array = globalThis.Uint8Array;
globalThis.Uint8Array = new Proxy(RealUint8Array, {
  construct(target, args, newTarget) {
    if (refused.has(args[0])) throw new RangeError("Array buffer allocation failed");
    return Reflect.construct(target, args, newTarget === globalThis.Uint8Array ? target : newTarget);
  },
});
// The page's first messages may come before the real worker listens (this module waits
// for it): keep them, then hand them over.
const early = [];
self.onmessage = (event) => early.push(event);
await import(new URL("main.js?as-served", import.meta.url).href);
for (const event of early) self.onmessage(event);
"""


def refuse_allocations(sizes: list[int]):
    """A `prepare` for new_page: serve js/worker/main.js through REFUSING_WORKER."""

    def prepare(context) -> None:
        def handle(route) -> None:
            url = urlsplit(route.request.url)  # the page's main.js?build=…, not the real one
            if not url.path.endswith("/js/worker/main.js") or url.query == "as-served":
                route.fallback()
                return
            response = route.fetch()
            route.fulfill(response=response, body=REFUSING_WORKER % json.dumps(sizes))

        context.route("**/js/worker/main.js*", handle)

    return prepare


def weights_sizes(site, backend: str) -> list[int]:
    """The allocations a backend's weights need: the WebGPU data files whole, the WASM
    ones in the chunks conteur.json cuts them into (js/worker/chunked-file.js)."""
    config = site_config(site)
    graph = config["graphs"][backend]
    sizes = []
    for name in graph["data"]:
        total = config["files"][name]["bytes"]
        if backend == "webgpu":
            sizes.append(total)
            continue
        starts = graph["data_chunks"][name]
        sizes += [end - start for start, end in zip(starts, [*starts[1:], total], strict=True)]
    return sizes


def test_a_device_reporting_little_memory_is_asked_before_the_model_loads(
    browser, new_page, origin, tiny_site
):
    page = new_page(
        browser, f"{origin}/tiny/?backend=wasm", wait_ready=False, init_script=REPORTS_1_GB
    )
    p = page.page
    p.wait_for_function("window.conteur && window.conteur.lowMemory !== null", timeout=120_000)
    assert page.hook("lowMemory") == {"device_gb": 1, "needed_gb": 1.4}
    status = page.status_text()
    assert "This device reports 1 GB of memory" in status, status
    assert "about 1.4 GB free" in status and "Close other tabs and apps" in status, status
    assert p.is_visible('[data-testid="load-anyway"]')
    p.wait_for_timeout(2000)
    # Nothing of the model is fetched while the reader decides.
    assert page.state() == "loading"
    assert not [u for u in page.requests if "/model/model" in u], page.requests
    assert page.hook("saved") == 0  # My stories is there already

    p.click('[data-testid="load-anyway"]')
    page.wait_loaded()
    page.assert_ready()
    assert p.is_hidden('[data-testid="load-anyway"]')
    assert [u for u in page.requests if u.endswith("/model/model-cpu.onnx.data")]
    page.write("Once upon a time", {"max_new_tokens": "6", "seed": "1"})
    assert len(page.saved_stories()) == 1

    p.reload()  # the answer holds for this browsing session
    page.wait_loaded()
    page.assert_ready()
    assert page.hook("lowMemory") is None


def test_a_webgpu_download_that_cannot_allocate_falls_back_to_wasm(
    browser, new_page, origin, tiny_site
):
    page = new_page(
        browser, f"{origin}/tiny/?backend=webgpu", service_workers="block",
        prepare=refuse_allocations(weights_sizes(tiny_site, "webgpu")),
    )  # fmt: skip
    page.assert_ready()
    assert page.backend() == "wasm"
    notice = page.hook("backend.notice")
    assert notice.startswith("There is not enough memory for the graphics card's copy"), notice
    assert "Array buffer allocation failed" in notice
    assert "WebGPU unavailable" in page.backend_text()
    last = page.write("Once upon a time", {"max_new_tokens": "6", "seed": "1"})
    (kept,) = page.saved_stories()
    assert kept["backend"] == "wasm" and kept["ids"] == last["ids"]


def test_an_allocation_that_fails_on_wasm_says_what_is_needed(browser, new_page, origin, tiny_site):
    page = new_page(
        browser, f"{origin}/tiny/?backend=wasm", service_workers="block",
        prepare=refuse_allocations(weights_sizes(tiny_site, "wasm")),
    )  # fmt: skip
    assert page.state() == "error"
    status = page.status_text()
    assert "ran out of memory while loading the model" in status, status
    assert "needs about 1.4 GB free" in status and "Close other tabs and apps" in status
    assert "Something went wrong" not in status
    p = page.page
    assert p.get_attribute('[data-testid="status"]', "data-fatal") == "true"
    assert p.is_visible('[data-testid="engine-reload"]')
    assert page.saved_stories() == []
