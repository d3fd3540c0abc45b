"""Browser fixtures: the built sites, one static server, Chromium, and a request recorder.

One server serves build/e2e/, a folder of sites built from the model fixtures
(tests/conftest.py): `tiny/`, `real/`, and damaged copies of the tiny site.
Pages are shared by all end-to-end tests (package-scoped fixtures, so Playwright
stops before the other tests run) because each one boots Pyodide (seconds on two
cores): one tiny page on WASM, one on WebGPU (SwiftShader), one real page.

Every browser context goes through `new_context`, which records each request;
at the end of the end-to-end tests no request may have left the served origins.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from harness.chromium import CHROMIUM, CHROMIUM_ARGS, WEBGPU_ARG
from tests.e2e.backend_files import graph_files
from tests.e2e.story_page import StoryPage
from web.build import build_site
from web.serve import make_server

ROOT = Path(__file__).resolve().parents[2]
E2E = ROOT / "build" / "e2e"


# --- sites and server -----------------------------------------------------------------


def copy_site(src: Path, dst: Path) -> None:
    """A copy of a built site whose files are hard links (cheap; never written through)."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, copy_function=os.link)


@pytest.fixture(scope="package")
def tiny_site(tiny_model_dir) -> Path:
    """The site built with the tiny test model (build/e2e/tiny/)."""
    out = E2E / "tiny"
    build_site(tiny_model_dir, out)
    return out


@pytest.fixture(scope="package")
def real_site(real_model_dir) -> Path:
    """The site built with the real Gemma 3 270M export (build/e2e/real/)."""
    out = E2E / "real"
    build_site(real_model_dir, out)
    return out


def site_config(site: Path) -> dict:
    return json.loads((site / "model" / "conteur.json").read_text())


@pytest.fixture(scope="package")
def wasm_weights(tiny_site) -> str:
    """The WASM graph's weights file."""
    (data,) = [n for n in graph_files(site_config(tiny_site), "wasm") if n.endswith(".data")]
    return data


@pytest.fixture(scope="package")
def corrupt_site(tiny_site, wasm_weights) -> Path:
    """The tiny site with one flipped byte in the WASM weights (conteur.json unchanged)."""
    out = E2E / "corrupt-model"
    copy_site(tiny_site, out)
    weights = out / "model" / wasm_weights
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.unlink()  # break the hard link before writing
    weights.write_bytes(bytes(data))
    return out


@pytest.fixture(scope="package")
def missing_site(tiny_site, wasm_weights) -> Path:
    """The tiny site without its WASM weights file."""
    out = E2E / "missing-model"
    copy_site(tiny_site, out)
    (out / "model" / wasm_weights).unlink()
    return out


@pytest.fixture(scope="package")
def wrong_check_site(tiny_model_dir) -> Path:
    """The tiny site whose conteur.json expects other logits in its WebGPU self-check.

    Everything else is the tiny model unchanged, so the page loads; only a device
    that matched these numbers would pass, and none does.
    """
    model = ROOT / "build" / "test-models" / "tiny-wrong-check"
    copy_site(tiny_model_dir, model)
    config_file = model / "conteur.json"
    config = json.loads(config_file.read_text())
    for step in config["self_check"]["steps"]:
        step["top_logits"] = [value + 3.0 for value in step["top_logits"]]
    config_file.unlink()  # break the hard link before writing
    config_file.write_text(json.dumps(config, indent=2) + "\n")
    out = E2E / "wrong-check"
    build_site(model, out)
    return out


@pytest.fixture(scope="package")
def allowed_origins() -> set[str]:
    """Origins of the servers this session started; requests may go nowhere else."""
    return set()


def start_server(folder: Path, origins: set[str]):
    server = make_server(folder, port=0, quiet=True, require_index=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    origin = f"http://{host}:{port}"
    origins.add(origin)
    return server, origin


@pytest.fixture(scope="package")
def origin(allowed_origins) -> Iterator[str]:
    """The origin serving build/e2e/ (each site is a folder under it)."""
    E2E.mkdir(parents=True, exist_ok=True)
    server, url = start_server(E2E, allowed_origins)
    yield url
    server.shutdown()
    server.server_close()


# --- browsers and the request recorder ---------------------------------------------------


@pytest.fixture(scope="package")
def requests_seen(allowed_origins) -> Iterator[list[str]]:
    """Every URL any recorded context asked for; checked when the session ends."""
    seen: list[str] = []
    yield seen
    print(f"\nrequest recorder: {len(seen)} requests to {sorted(allowed_origins)}")
    foreign = sorted({u for u in seen if not _same_origin(u, allowed_origins)})
    assert not foreign, f"requests left the served origins {sorted(allowed_origins)}: {foreign}"


def _same_origin(url: str, origins: set[str]) -> bool:
    if url.startswith(("data:", "blob:", "about:")):
        return True  # in-page data, never the network
    return any(url == o or url.startswith(o + "/") for o in origins)


def record(context: BrowserContext, seen: list[str]) -> BrowserContext:
    """Record every request of `context`, its pages, workers and service workers."""
    context.on("request", lambda request: seen.append(request.url))
    context.on("websocket", lambda ws: seen.append(ws.url))
    return context


def record_downloads(context: BrowserContext, urls: list[str]) -> None:
    """Record the URLs whose bytes came from the network, not from the service worker's cache.

    Chromium reports the service worker's own fetches too, so a file the worker
    downloads once and then serves from its cache appears here once.
    """

    def on_response(response) -> None:
        if not response.from_service_worker:
            urls.append(response.url)

    context.on("response", on_response)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    assert CHROMIUM.is_file(), (
        f"{CHROMIUM} is missing: install Debian's chromium (./conteur setup does it) "
        "or set CONTEUR_CHROMIUM"
    )
    with sync_playwright() as p:
        yield p


def launch(playwright: Playwright, webgpu: bool = True) -> Browser:
    args = CHROMIUM_ARGS + ([WEBGPU_ARG] if webgpu else [])
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)


@pytest.fixture(scope="package")
def browser(playwright) -> Iterator[Browser]:
    """Chromium with a (software) WebGPU adapter: the launch every page test shares."""
    b = launch(playwright, webgpu=True)
    yield b
    b.close()


@pytest.fixture(scope="package")
def browser_without_webgpu(playwright) -> Iterator[Browser]:
    """Chromium launched without the WebGPU flag: navigator.gpu has no adapter."""
    b = launch(playwright, webgpu=False)
    yield b
    b.close()


# Chromium's navigator.storage.estimate() reports the usage plus up to 10 GiB, whatever
# the real limit (its "static storage quota"), and does not follow a quota set with
# Storage.overrideQuotaForOrigin, which the browser does enforce when it stores.
# Launched without that feature it reports the real room, as other browsers and nearly
# full disks do: the launch for tests that set a quota and expect it to be seen.
REAL_ESTIMATE = "--disable-features=StaticStorageQuota"


@pytest.fixture(scope="module")
def browser_with_real_estimate(playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, REAL_ESTIMATE]
    )
    yield b
    b.close()


@pytest.fixture(scope="package")
def new_page(requests_seen):
    """Open a page in a fresh recorded context: new_page(browser, url) -> StoryPage."""
    contexts: list[BrowserContext] = []

    def open_page(
        browser: Browser, url: str, wait_ready: bool = True, timeout_ms: int | None = None,
        init_script: str | None = None, prepare=None, **options,
    ) -> StoryPage:  # fmt: skip
        # English unless a test asks for another locale (navigator.language picks the UI's).
        options.setdefault("locale", "en-US")
        # Playwright's wait_for_function evaluates strings in the page, which the site's
        # Content-Security-Policy refuses (no 'unsafe-eval'): tests look past the policy,
        # except test_site_policy.py, which checks the page under it.
        options.setdefault("bypass_csp", True)
        context = record(browser.new_context(**options), requests_seen)
        contexts.append(context)
        if init_script:  # runs before the page's own scripts, e.g. a speechSynthesis stub
            context.add_init_script(init_script)
        if prepare:  # prepare(context) before the page opens, e.g. a route that injects a fault
            prepare(context)
        page: Page = context.new_page()
        story = StoryPage(page)
        record(context, story.requests)  # this page's own requests, for download checks
        record_downloads(context, story.downloads)
        page.goto(url)
        if wait_ready:
            story.wait_loaded(**({"timeout": timeout_ms} if timeout_ms else {}))
        return story

    yield open_page
    for context in contexts:
        context.close()


# --- shared pages ------------------------------------------------------------------------


@pytest.fixture(scope="package")
def tiny_wasm(browser, new_page, origin, tiny_site) -> StoryPage:
    """The tiny model on the CPU backend, shared by the control and bad-input tests."""
    page = new_page(browser, f"{origin}/tiny/?backend=wasm")
    page.assert_ready()
    return page


@pytest.fixture(scope="package")
def tiny_webgpu(browser, new_page, origin, tiny_site) -> StoryPage:
    page = new_page(browser, f"{origin}/tiny/?backend=webgpu")
    page.assert_ready()
    return page


@pytest.fixture(scope="package")
def real_wasm(browser, new_page, origin, real_site) -> StoryPage:
    """Gemma 3 270M on the CPU backend (WebGPU on SwiftShader is far too slow for it)."""
    page = new_page(browser, f"{origin}/real/?backend=wasm")
    page.assert_ready()
    return page


@pytest.fixture(scope="package")
def real_webgpu(browser, new_page, origin, real_site) -> StoryPage:
    """Gemma 3 270M on WebGPU (SwiftShader): slow, so only the parity test uses it."""
    page = new_page(browser, f"{origin}/real/?backend=webgpu", timeout_ms=900_000)
    page.assert_ready()
    return page
