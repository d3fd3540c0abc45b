"""Package `pyshell` as a pure-Python wheel and list it in the site's own Pyodide lock file.

Pyodide installs packages only from a lock file (docs/facts/browser.md): ours lists
just `pyshell`, so `loadPyodide({lockFileURL, packages: ["pyshell"]})` never
looks anywhere but our own origin (installing by name with micropip would go
to PyPI). The wheel is written byte-for-byte reproducibly (fixed timestamps,
sorted entries), so an unchanged pyshell keeps the site's version unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

__all__ = ["DATA_FILES", "PACKAGE", "build_wheel", "write_lock_file"]

PACKAGE = "pyshell"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold
# Modules that need numpy/onnxruntime or a terminal: useless in the page.
CPYTHON_ONLY = {
    "onnx_runner.py",
    "rest_rows.py",
    "cli.py",
    "__main__.py",
    "evaluate.py",
    "steering.py",  # onnx: an experiment of the evaluation
}
# Data files pyshell reads at run time: the page has no other way to reach them.
DATA_FILES = (
    "data/family_safe/*.txt",  # pyshell/family_safe.py's word lists
    "data/grim_words/*.txt",  # pyshell/grim_words.py's
    "data/warm_words/*.txt",  # pyshell/warm_words.py's
    "data/known_words/*.txt",  # pyshell/known_words.py's, for best-of's prefer_known
)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def _entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def build_wheel(source: Path, out_dir: Path, version: str) -> Path:
    """Write `pyshell-<version>-py3-none-any.whl` from the package folder `source`."""
    modules = sorted(p for p in source.glob("*.py") if p.name not in CPYTHON_ONLY)
    if not (source / "__init__.py").is_file():
        raise FileNotFoundError(f"{source} is not a Python package (no __init__.py)")
    dist_info = f"{PACKAGE}-{version}.dist-info"
    files = {f"{PACKAGE}/{p.name}": p.read_bytes() for p in modules}
    for pattern in DATA_FILES:
        data = sorted(source.glob(pattern))
        if not data:
            raise FileNotFoundError(f"{source}: no {pattern} (pyshell needs them at run time)")
        files.update(
            {f"{PACKAGE}/{p.relative_to(source).as_posix()}": p.read_bytes() for p in data}
        )
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {version}\n"
        "Summary: Conteur's tokenizer, sampler, generation loop and prompts (pure Python)\n"
    ).encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: conteur web.build\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    files[f"{dist_info}/top_level.txt"] = f"{PACKAGE}\n".encode()
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files.items())
    record += f"{dist_info}/RECORD,,\n"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{PACKAGE}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            _entry(archive, name, data)
        _entry(archive, f"{dist_info}/RECORD", record.encode())
    return path


def write_lock_file(wheel: Path, pyodide_lock: Path, out: Path, version: str) -> Path:
    """A lock file with Pyodide's own `info` (so the runtime accepts it) and one package."""
    info = json.loads(pyodide_lock.read_text())["info"]
    lock = {
        "info": info,
        "packages": {
            PACKAGE: {
                "name": PACKAGE,
                "version": version,
                "file_name": wheel.name,
                "install_dir": "site",
                "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
                "package_type": "package",
                "imports": [PACKAGE],
                "depends": [],
                "unvendored_tests": False,
            }
        },
    }
    out.write_text(json.dumps(lock, indent=1, sort_keys=True) + "\n")
    return out
