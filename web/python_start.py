"""Python's start, made once at build time: a Pyodide memory snapshot the page starts from.

Most of Pyodide's start is the interpreter's own (the standard library's first modules,
`site`, the import system): about 2 s of a first visit's CPU on 2 cores. The build starts
the same Pyodide the site ships once under Node (web/tools/python-start.mjs) and keeps
a snapshot of its memory right after the interpreter started, before any of our code
ran; every visit, the first included, starts from it (js/worker/pyodide-boot.js).

Snapshots are not byte-for-byte reproducible (the interpreter seeds its hashes and its
C library's random state at start), so one is kept per Pyodide build in
build/cache/python-start/ and reused: rebuilding the site does not change its version
unless Pyodide changed. Node runs with an empty environment: nothing of the machine
that built the site ends up in the interpreter's `os.environ`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["SCRIPT", "PythonStartError", "python_start_snapshot"]

SCRIPT = Path(__file__).resolve().parent / "tools" / "python-start.mjs"
# What the snapshot depends on: the interpreter, its standard library and its JS glue.
PYODIDE_INPUTS = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")
TIMEOUT_S = 300


class PythonStartError(RuntimeError):
    """The snapshot could not be made; the message says what to do."""


def _key(pyodide_dir: Path) -> str:
    digest = hashlib.sha256(SCRIPT.read_bytes())
    for name in PYODIDE_INPUTS:
        digest.update(
            name.encode() + b"\0" + hashlib.sha256((pyodide_dir / name).read_bytes()).digest()
        )
    return digest.hexdigest()[:24]


def python_start_snapshot(pyodide_dir: Path, cache_dir: Path) -> Path:
    """The snapshot for the Pyodide in `pyodide_dir`: the cached one, or a new one."""
    kept = cache_dir / f"{_key(pyodide_dir)}.snapshot"
    if kept.is_file():
        return kept
    node = shutil.which("node")
    if node is None:
        raise PythonStartError("Node.js is needed to build the site (./conteur setup installs it)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = kept.with_suffix(f".{os.getpid()}.partial")
    try:
        done = subprocess.run(
            [node, str(SCRIPT), str(pyodide_dir), str(partial)],
            env={}, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
        )  # fmt: skip
        if done.returncode != 0 or not partial.is_file():
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise PythonStartError(f"Pyodide's start could not be snapshotted: {last[0]}")
        partial.replace(kept)  # atomic: a build that stops half-way leaves no snapshot
    except subprocess.TimeoutExpired:
        raise PythonStartError(f"Pyodide did not start within {TIMEOUT_S} s under Node") from None
    finally:
        partial.unlink(missing_ok=True)
    return kept
