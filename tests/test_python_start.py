"""web/python_start.py: Python's start, snapshotted once at build time under Node.

The page starts Pyodide from this snapshot (js/worker/pyodide-boot.js; in the browser:
tests/e2e/test_python_snapshot.py). Here: it is made, kept and reused per input; the
interpreter it holds has pyshell imported and the model's tokenizer loaded, and knows
nothing of the machine that built the site.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from pyshell import browser
from tests.conftest import ROOT
from web.build import NODE_MODULES
from web.python_start import python_start_snapshot
from web.wheel import PACKAGE, build_wheel

PYODIDE = NODE_MODULES / "pyodide"

# Start Pyodide from the snapshot (its memory grown first, as the page's worker does) and
# print what its interpreter sees, and what pyshell.browser.prepared says of the model.
INSPECT = """
import { readFileSync } from "node:fs";
const [folder, snapshotPath, configPath] = process.argv.slice(1);
const { loadPyodide } = await import(folder + "/pyodide.mjs");
const { default: createModule } = await import(folder + "/pyodide.asm.mjs");
const snapshot = new Uint8Array(readFileSync(snapshotPath));
const memory = snapshot.byteLength - new DataView(snapshot.buffer).getUint32(4, true);
const createPyodideModule = (settings) => createModule({ ...settings,
  preRun: [(m) => m.HEAP8.byteLength < memory && m._emscripten_resize_heap(memory), ...settings.preRun] });
const pyodide = await loadPyodide({ indexURL: folder + "/", _loadSnapshot: snapshot, createPyodideModule });
pyodide.FS.writeFile("/config.json", readFileSync(configPath));
// Where the heap ended when the snapshot was made: the sbrk pointer as the snapshot holds it.
const header = new DataView(snapshot.buffer).getUint32(4, true);
const heapEnd = new DataView(snapshot.buffer, header).getUint32(pyodide._module._emscripten_get_sbrk_ptr(), true);
console.log(JSON.stringify({ memory, heapEnd }));
console.log(pyodide.runPython(`
import json, os, sys
with open("/config.json", encoding="utf-8", newline="") as f:
    text = f.read()
json.dumps({"environ": dict(os.environ), "path": sys.path, "cwd": os.getcwd(),
            "imported": "pyshell.browser" in sys.modules,
            "prepared": sys.modules["pyshell.browser"].prepared(text)})`));
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build_wheel(ROOT / PACKAGE, tmp_path_factory.mktemp("wheel"), "0.0.0")


def inspect(snapshot, config) -> dict:
    out = subprocess.run(
        ["node", "--input-type=module", "-e", INSPECT, str(PYODIDE), str(snapshot), str(config)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-1]) | json.loads(lines[-2])


def test_the_snapshot_is_made_once_and_reused(tmp_path, wheel, tiny_model_dir):
    made = python_start_snapshot(PYODIDE, tmp_path, wheel, tiny_model_dir)
    assert made.parent == tmp_path
    assert made.stat().st_size > 16 << 20  # the interpreter's memory
    stamp = made.stat().st_mtime_ns
    again = python_start_snapshot(PYODIDE, tmp_path, wheel, tiny_model_dir)
    assert again == made and again.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [made.name]  # no partial file left


def test_the_snapshot_ends_where_the_heap_ends(tmp_path, wheel, tiny_model_dir):
    """Not at the memory's size, which varies by a whole growth step from one build to
    the next: the pages past the heap's end hold nothing."""
    made = python_start_snapshot(PYODIDE, tmp_path, wheel, tiny_model_dir)
    seen = inspect(made, tiny_model_dir / "conteur.json")
    page = 64 * 1024
    assert seen["memory"] % page == 0
    assert seen["memory"] - page < seen["heapEnd"] <= seen["memory"]
    assert seen["prepared"] != "null"  # and Python, its memory grown again, still runs


def test_another_model_gets_its_own_snapshot(tmp_path, wheel, tiny_model_dir):
    first = python_start_snapshot(PYODIDE, tmp_path / "cache", wheel, tiny_model_dir)
    other = tmp_path / "other"
    shutil.copytree(tiny_model_dir, other)
    config = json.loads((other / "conteur.json").read_text(encoding="utf-8"))
    config["name"] += "-other"
    (other / "conteur.json").write_text(json.dumps(config), encoding="utf-8")
    second = python_start_snapshot(PYODIDE, tmp_path / "cache", wheel, other)
    assert second != first
    assert inspect(second, other / "conteur.json")["prepared"] != "null"
    assert inspect(second, tiny_model_dir / "conteur.json")["prepared"] == "null"


def test_the_interpreter_in_it_is_ready_and_knows_nothing_of_the_build_machine(
    tmp_path, wheel, tiny_model_dir, monkeypatch
):
    # conteur.json names the file it was exported from; the snapshot holds that text,
    # which the site serves anyway. A copy without it shows nothing else gets in.
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    config = json.loads((model / "conteur.json").read_text(encoding="utf-8"))
    config["source"]["path"] = config["source"]["file"]
    text = json.dumps(config, indent=2)
    (model / "conteur.json").write_text(text, encoding="utf-8")

    snapshot = python_start_snapshot(PYODIDE, tmp_path / "cache", wheel, model)
    seen = inspect(snapshot, model / "conteur.json")
    assert seen["imported"] is True
    monkeypatch.setattr(browser, "_state", browser._State())
    assert seen["prepared"] == browser.init(text, str(model / "tokenizer.pieces"))
    assert seen["cwd"] == "/home/pyodide"
    assert seen["environ"]["_"] == "./this.program"  # what a browser's start sets
    values = json.dumps(seen)
    assert str(ROOT) not in values and str(tmp_path) not in values
    assert snapshot.read_bytes().find(str(ROOT).encode()) == -1
    assert snapshot.read_bytes().find(str(tmp_path).encode()) == -1
