"""Install the peers' npm packages into bench/node_modules (git-ignored).

`npm ci` from bench/package-lock.json, redone only when the lock file changes.
Install scripts are skipped: transformers.js depends on onnxruntime-node and
sharp for Node.js, whose scripts would fetch native binaries the browser never
uses (and this machine cannot download).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

STAMP = ".bench-installed"


class NpmError(RuntimeError):
    """The peers could not be installed; the message says what to do."""


def ensure_installed(folder: Path, log=print) -> Path:
    """bench/node_modules, installed from the lock file if it is missing or stale."""
    lock = folder / "package-lock.json"
    modules = folder / "node_modules"
    want = hashlib.sha256(lock.read_bytes()).hexdigest()
    stamp = modules / STAMP
    if stamp.is_file() and stamp.read_text().strip() == want:
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise NpmError("npm is not installed: install Node.js 18+ (it carries npm), then rerun")
    log("bench: installing the peers' npm packages (npm ci in bench/)")
    done = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--omit=optional", "--no-audit", "--no-fund",
         "--loglevel=error"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise NpmError(f"npm ci failed in {folder}:\n{done.stderr.strip()[-2000:]}")
    stamp.write_text(want + "\n")
    return modules
