"""Python's start, made once at build time: a Pyodide memory snapshot the page starts from.

Most of Pyodide's start is the interpreter's own (the standard library's first modules,
`site`, the import system): about 2 s of a first visit's CPU on 2 cores. Then the page
installed pyshell, imported it and loaded the tokenizer and both languages' story
policies (`pyshell.browser.init`): about 0.8 s more of Pyodide's CPU in Node, on every
visit, for a result that depends only on the site's files. The build does all of it once
under Node (web/tools/python-start.mjs), with the same Pyodide, pyshell wheel and model
the site ships, and keeps a snapshot of the interpreter's memory then; every visit, the
first included, starts from it (js/worker/pyodide-boot.js) and asks
`pyshell.browser.prepared` instead of loading the tokenizer again.

Snapshots are not byte-for-byte reproducible (the interpreter seeds its hashes and its
C library's random state at start), so one is kept in build/cache/python-start/ per
input (Pyodide, the wheel, the model's conteur.json and tokenizer pieces, the script)
and reused: rebuilding an unchanged site does not change its version. Node runs with an
empty environment: nothing of the machine that built the site ends up in the
interpreter's `os.environ`.
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
# What `pyshell.browser.init` reads of the model (the page hands it the same text).
MODEL_INPUTS = ("conteur.json", "tokenizer.pieces")
TIMEOUT_S = 300


class PythonStartError(RuntimeError):
    """The snapshot could not be made; the message says what to do."""


def _key(pyodide_dir: Path, wheel: Path, model_dir: Path) -> str:
    inputs = [pyodide_dir / name for name in PYODIDE_INPUTS] + [wheel]
    inputs += [model_dir / name for name in MODEL_INPUTS]
    digest = hashlib.sha256(SCRIPT.read_bytes())
    for path in inputs:
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def python_start_snapshot(pyodide_dir: Path, cache_dir: Path, wheel: Path, model_dir: Path) -> Path:
    """The snapshot of Pyodide (`pyodide_dir`) ready for the model in `model_dir`, with
    pyshell from `wheel`: the cached one, or a new one."""
    kept = cache_dir / f"{_key(pyodide_dir, wheel, model_dir)}.snapshot"
    if kept.is_file():
        return kept
    node = shutil.which("node")
    if node is None:
        raise PythonStartError("Node.js is needed to build the site (./conteur setup installs it)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = kept.with_suffix(f".{os.getpid()}.partial")
    try:
        done = subprocess.run(
            [node, str(SCRIPT), str(pyodide_dir), str(partial), str(wheel), str(model_dir)],
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
