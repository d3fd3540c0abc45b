"""Run a JavaScript ES module script in Node, as the tests of the page's shared code do."""

from __future__ import annotations

import json
import shutil
import subprocess

from tests.conftest import ROOT


def run_node(script: str, timeout: float = 60):
    """Run `script` (an ES module that prints one JSON line last) from the repository root;
    returns that line, parsed. A script that fails fails the test with its stderr."""
    assert shutil.which("node"), "node is needed (npm installs the browser runtimes with it)"
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
