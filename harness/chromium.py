"""How this project launches Debian's Chromium headless (docs/facts/browser.md).

Shared by the end-to-end tests and the benchmarks so both drive the same
browser the same way. Never `playwright install`: Playwright gets this
executable through `executable_path`.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("CONTEUR_CHROMIUM", "/usr/bin/chromium"))
# No background traffic: the closed network refuses it, and tests record every request.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WEBGPU_ARG = "--enable-unsafe-webgpu"  # SwiftShader: a software WebGPU adapter
