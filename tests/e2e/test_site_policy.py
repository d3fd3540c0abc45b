"""Every page the site serves stays on the site, the terms are a document, the CSP holds.

- The Terms and NOTICE links open those documents, through the service worker, not a
  second copy of the app (which would start Pyodide and load the model again).
- Every HTML file of the built site (and the NOTICE), opened through the service
  worker, asks nothing of another origin and runs no script but the app's own.
- The page loads and writes a story under its Content-Security-Policy (no
  'unsafe-eval'; the other e2e tests look past the policy for Playwright's sake),
  which the server and the service worker both send.
- A stored wasm module goes out as the cache's own entry (for the browser's code
  cache), every other stored file as the service worker's copy with its headers.
"""

from __future__ import annotations

import pytest

from tests.e2e.story_page import StoryPage
from tests.e2e.test_site import sw_build
from web.serve import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.browser

DOCUMENTS = {"model/GEMMA_TERMS.html": "text/html", "model/NOTICE": "text/plain"}


def site_documents(site) -> list[str]:
    """Every HTML file of the built site, and the NOTICE, as site paths."""
    html = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    return [*html, "model/NOTICE"]


def test_terms_and_notice_open_as_documents_not_as_the_app(browser, new_page, origin, tiny_site):
    page = new_page(browser, f"{origin}/tiny/?backend=wasm")
    page.assert_ready()
    assert page.page.evaluate("navigator.serviceWorker.controller !== null")
    for href, kind in DOCUMENTS.items():
        asked = len(page.requests)
        with page.page.context.expect_page() as opened:
            page.page.click(f'.ai-notice a[href="{href}"]')
        document = opened.value
        document.wait_for_load_state("load")
        assert document.url == f"{origin}/tiny/{href}"
        assert document.evaluate("document.contentType") == kind
        assert document.evaluate("typeof window.conteur") == "undefined"  # not the app
        assert document.workers == []
        assert document.evaluate("document.scripts.length") == 0
        text = document.inner_text("body")
        if kind == "text/html":
            assert document.inner_text("h1") == "Gemma Terms of Use"
            assert "Section 4: ADDITIONAL PROVISIONS" in text
        else:
            assert text.startswith("Gemma is provided under and subject to the Gemma Terms of Use")
        # Only the document (and, for the terms, the site's stylesheet): no runtime, no model.
        new = {url.removeprefix(f"{origin}/tiny/") for url in page.requests[asked:]}
        assert new <= {href, "app.css"}, sorted(new)
        document.close()


def test_every_page_of_the_site_stays_on_the_site(browser, new_page, origin, tiny_site):
    page = new_page(browser, f"{origin}/tiny/?backend=wasm")  # installs the service worker
    page.assert_ready()
    documents = site_documents(tiny_site)
    assert {"index.html", "model/GEMMA_TERMS.html", "model/NOTICE"} <= set(documents)
    for path in documents:
        asked = len(page.requests)
        response = page.page.goto(f"{origin}/tiny/{path}")
        assert response.ok and response.from_service_worker, path
        if path == "index.html":
            page.wait_loaded()
            page.assert_ready()
        else:
            assert page.page.evaluate("document.scripts.length") == 0, path
        page.page.wait_for_load_state("networkidle")
        foreign = [url for url in page.requests[asked:] if not url.startswith(origin + "/")]
        assert not foreign, (path, foreign)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_the_page_works_under_its_content_security_policy(browser, new_page, origin, tiny_site):
    page: StoryPage = new_page(
        browser, f"{origin}/tiny/?backend=wasm", wait_ready=False, bypass_csp=False,
        init_script=VIOLATIONS,
    )  # fmt: skip
    poll_until(page, "window.conteur && ['ready', 'error'].includes(window.conteur.state)")
    page.assert_ready()
    assert "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    served = page.page.evaluate(
        "fetch('js/worker/main.js').then((r) => [r.headers.get('Content-Security-Policy'),"
        " r.headers.get('X-Conteur-Served')])"
    )
    assert served[0] == CONTENT_SECURITY_POLICY and served[1]  # built by the service worker
    page.fill("Once upon a time")
    page.settings(max_new_tokens="8", seed="3")
    before = page.click_generate()
    poll_until(page, f"window.conteur.stories > {before} || window.conteur.state === 'error'")
    assert page.state() == "ready", page.status_text()
    assert page.page.evaluate("window.__violations") == []
    # The policy is enforced, not only sent: an inline script is refused.
    page.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.body.append(s); }"
    )
    poll_until(page, "window.__violations.length > 0")
    assert page.page.evaluate("window.ran") is None
    assert page.page.evaluate("window.__violations[0]").startswith("script-src")


VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.effectiveDirective} ${e.blockedURI}`);
});
"""


def poll_until(page, expression: str, timeout_ms: int = 180_000) -> None:
    """Like wait_for_function, without evaluating a string in the page (the CSP refuses it)."""
    waited = 0
    while not page.page.evaluate(f"() => Boolean({expression})"):
        assert waited < timeout_ms, f"timed out: {expression}"
        page.page.wait_for_timeout(250)
        waited += 250


WASM_MODULES = ["vendor/pyodide/pyodide.asm.wasm", "vendor/ort/ort-wasm-simd-threaded.wasm"]


def test_stored_wasm_modules_go_out_as_stored(browser, new_page, origin, tiny_site):
    page = new_page(browser, f"{origin}/tiny/?backend=wasm")
    page.assert_ready()
    page.page.wait_for_function("window.conteur.offline !== null", timeout=60_000)
    assert page.hook("offline") is True  # every file of the WASM page is stored
    page.page.reload()  # Pyodide and onnxruntime now compile the stored entries themselves
    page.wait_loaded()
    page.assert_ready()
    files = {f["url"]: f for f in sw_build(tiny_site)["files"]}
    for path in [*WASM_MODULES, "vendor/ort/ort.wasm.min.mjs"]:
        got = page.page.evaluate(
            """async (path) => {
              const r = await fetch(path);
              const bytes = (await r.arrayBuffer()).byteLength;
              return { type: r.headers.get("Content-Type"), sha: r.headers.get("X-Conteur-Sha256"),
                       served: r.headers.get("X-Conteur-Served"), coep: r.headers.get("Cross-Origin-Embedder-Policy"),
                       bytes };
            }""",
            path,
        )
        assert got["sha"] == files[path]["sha256"] and got["bytes"] == files[path]["bytes"], path
        if path in WASM_MODULES:  # the entry itself: the service worker added nothing
            assert (
                got["type"] == "application/wasm" and got["served"] is None and got["coep"] is None
            )
        else:
            assert got["served"] == page.page.get_attribute("html", "data-version")
            assert got["coep"] == "require-corp"


def test_a_wasm_module_not_stored_yet_is_kept_first_and_goes_out_as_stored(
    browser, new_page, origin, tiny_site
):
    """On its first use (here the WebGPU build's module, which a WASM page never asked
    for) a module is stored whole, then answered with the stored entry: the code the
    browser compiles on a first visit is kept too."""
    page = new_page(browser, f"{origin}/tiny/?backend=wasm")
    page.assert_ready()
    path = "vendor/ort/ort-wasm-simd-threaded.asyncify.wasm"
    file = {f["url"]: f for f in sw_build(tiny_site)["files"]}[path]
    got = page.page.evaluate(
        """async ([path, key]) => {
          const r = await fetch(path);
          const bytes = (await r.arrayBuffer()).byteLength;
          const kept = await (await caches.open(`conteur:${new URL(".", location).pathname}:files`)).match(key);
          return { type: r.headers.get("Content-Type"), served: r.headers.get("X-Conteur-Served"),
                   coep: r.headers.get("Cross-Origin-Embedder-Policy"), bytes, kept: Boolean(kept) };
        }""",
        [path, f"{origin}/tiny/{path}?sha256={file['sha256']}"],
    )
    assert got["bytes"] == file["bytes"] and got["kept"]
    assert got["type"] == "application/wasm" and got["served"] is None and got["coep"] is None
