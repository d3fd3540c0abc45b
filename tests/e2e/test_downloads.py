"""Each reader downloads only what their backend runs, and the page says what its head keeps.

The service worker precaches the core files; a backend's onnxruntime build and
its own graph files come when the page first asks for them (web/build.py groups,
sw.js). So a WASM page never requests the WebGPU build or graph, and a WebGPU
page never the WASM ones.
"""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import urlparse

import pytest

from tests.e2e.backend_files import backend_only_files

pytestmark = pytest.mark.browser

BACKEND_DIRS = ("/tiny/vendor/ort/", "/tiny/model/")


def config_of(site) -> dict:
    return json.loads((site / "model" / "conteur.json").read_text())


def only_for(site, kind: str) -> set[str]:
    return backend_only_files(config_of(site), kind)


def requested(page, site_name: str) -> set[str]:
    """Paths under /site_name/ the page's context asked for (pages, workers, service worker)."""
    prefix = f"/{site_name}/"
    paths = {urlparse(url).path for url in page.requests}
    return {path[len(prefix) :] for path in paths if path.startswith(prefix)}


def expected_head(site, kind: str) -> dict:
    return config_of(site)["graphs"][kind]["head"]


def shown_head(page) -> dict:
    element = page.page.locator('[data-testid="model-head"]')
    return {
        "kept": int(element.get_attribute("data-kept")),
        "of": int(element.get_attribute("data-of")),
        "text": element.inner_text(),
    }


def test_a_wasm_page_downloads_no_webgpu_file(tiny_wasm, tiny_site):
    seen = requested(tiny_wasm, "tiny")
    assert not seen & only_for(tiny_site, "webgpu"), sorted(seen & only_for(tiny_site, "webgpu"))
    assert only_for(tiny_site, "wasm") <= seen  # the recorder saw the backend's own files


def test_a_webgpu_page_downloads_no_wasm_file(tiny_webgpu, tiny_site):
    assert tiny_webgpu.backend() == "webgpu"
    seen = requested(tiny_webgpu, "tiny")
    assert not seen & only_for(tiny_site, "wasm"), sorted(seen & only_for(tiny_site, "wasm"))
    assert only_for(tiny_site, "webgpu") <= seen


@pytest.mark.parametrize("kind", ["wasm", "webgpu"])
def test_no_runtime_or_model_file_is_downloaded_twice(request, kind):
    """The service worker caches a backend's file from the page's own download."""
    page = request.getfixturevalue(f"tiny_{kind}")
    paths = Counter(urlparse(url).path for url in page.downloads)
    twice = [path for path, n in paths.items() if n > 1 and path.startswith(BACKEND_DIRS)]
    assert not twice, twice


def check_head(page, site, kind: str) -> None:
    head = expected_head(site, kind)
    assert page.hook("backend.head") == head
    shown = shown_head(page)
    assert (shown["kept"], shown["of"]) == (head["kept"], head["of"])
    of = f"{head['of']:,}"
    if head["kept"] >= head["of"]:
        assert shown["text"] == f"Output vocabulary: all {of} tokens"
    else:
        rule = head["rule"].split(":")[0].strip()
        assert shown["text"] == f"Output vocabulary: {head['kept']:,} of {of} tokens ({rule})"


@pytest.mark.parametrize("kind", ["wasm", "webgpu"])
def test_the_page_says_what_the_output_head_keeps(request, tiny_site, kind):
    check_head(request.getfixturevalue(f"tiny_{kind}"), tiny_site, kind)


@pytest.mark.real_model
def test_gemma_on_wasm_loads_only_the_cpu_graph_and_shows_its_shortlist(real_wasm, real_site):
    seen = requested(real_wasm, "real")
    assert not seen & only_for(real_site, "webgpu"), sorted(seen & only_for(real_site, "webgpu"))
    assert only_for(real_site, "wasm") <= seen
    check_head(real_wasm, real_site, "wasm")
