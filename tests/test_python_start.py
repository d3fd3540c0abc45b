"""web/python_start.py: Python's start, snapshotted once at build time under Node.

The page starts Pyodide from this snapshot (js/worker/pyodide-boot.js; in the browser:
tests/e2e/test_python_snapshot.py). Here: it is made, kept and reused, and the
interpreter it holds knows nothing of the machine that built the site.
"""

from __future__ import annotations

import json
import subprocess

from tests.conftest import ROOT
from web.build import NODE_MODULES
from web.python_start import python_start_snapshot

PYODIDE = NODE_MODULES / "pyodide"

# Start Pyodide from the snapshot and print what its interpreter sees.
INSPECT = """
import { readFileSync } from "node:fs";
const { loadPyodide } = await import(process.argv[1] + "/pyodide.mjs");
const pyodide = await loadPyodide({ indexURL: process.argv[1] + "/",
  _loadSnapshot: new Uint8Array(readFileSync(process.argv[2])) });
console.log(pyodide.runPython(
  "import json, os, sys; json.dumps({'environ': dict(os.environ), 'path': sys.path, 'cwd': os.getcwd()})"));
"""


def test_the_snapshot_is_made_once_and_reused(tmp_path):
    made = python_start_snapshot(PYODIDE, tmp_path)
    assert made.parent == tmp_path
    assert made.stat().st_size > 16 << 20  # the interpreter's memory
    stamp = made.stat().st_mtime_ns
    again = python_start_snapshot(PYODIDE, tmp_path)
    assert again == made and again.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [made.name]  # no partial file left


def test_the_interpreter_in_it_knows_nothing_of_the_build_machine(tmp_path):
    snapshot = python_start_snapshot(PYODIDE, tmp_path)
    out = subprocess.run(
        ["node", "--input-type=module", "-e", INSPECT, str(PYODIDE), str(snapshot)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["cwd"] == "/home/pyodide"
    assert seen["environ"]["_"] == "./this.program"  # what a browser's start sets
    values = json.dumps(seen)
    assert str(ROOT) not in values and str(tmp_path) not in values
    assert snapshot.read_bytes().find(str(ROOT).encode()) == -1
