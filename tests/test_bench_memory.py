"""bench/memory.py finds the browser's process tree by its profile path."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

from bench.memory import descendants, find_process

# A parent that starts a child with the same marker in its command line, then waits.
PARENT = (
    "import subprocess, sys, time; "
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)', sys.argv[1]]); "
    "print(child.pid, flush=True); time.sleep(30)"
)


def test_the_root_is_the_matching_process_whose_parent_does_not_match():
    """Every process of the tree names the marker; the root is the one above them all
    (pids wrap, so the lowest pid is not always the root), and its descendants hold both."""
    marker = f"--user-data-dir=/tmp/marker-{uuid.uuid4().hex}"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, marker], stdout=subprocess.PIPE)
    try:
        child = int(parent.stdout.readline())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and child not in descendants(parent.pid):
            time.sleep(0.05)
        assert find_process(marker) == parent.pid
        assert {parent.pid, child} <= set(descendants(parent.pid))
    finally:
        parent.kill()
        subprocess.run(["pkill", "-f", marker], check=False)
    assert find_process(f"--user-data-dir=/tmp/marker-{uuid.uuid4().hex}") is None
