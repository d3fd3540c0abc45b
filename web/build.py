"""`python -m web.build`: assemble the static site in build/site/.

The site is self-contained: every byte the page needs comes from its own
origin (docs/facts/browser.md). It holds
- web/static/ (the page, its modules, the service worker, the manifest);
- icons drawn by web/icons.py;
- the few onnxruntime-web and Pyodide files the page loads, hash-wasm (the sha256 the
  service worker and the worker check downloads with) and the ES modules of the small
  npm packages the page imports (idb, for "My stories"), from node_modules/;
- pyshell as a wheel plus our own Pyodide lock file listing it (web/wheel.py);
- the exported model folder, checked against the sha256 in its conteur.json;
- js/shared/pyshell-settings.js, generated from `pyshell.settings.page_settings()`: the
  form's limits, tones, ranges and defaults, so the page never copies a pyshell rule.
- py/python-start.snapshot, Python's start made once per Pyodide build
  (web/python_start.py), and js/worker/python-start.js, generated: its size and sha256;
- a `.gz` copy beside every file gzip shrinks, the weights excepted (web/precompress.py),
  for servers that send it compressed (web/serve.py).

The service worker's file list (with the sha256 of each 4 MiB block of a large file,
web/block_hashes.py), the site version (a hash of every file's sha256)
and the Content-Security-Policy (web/serve.py's, also written into index.html) are
written into sw.js, so any changed byte makes browsers install the new version. Each file has a download group: "core"
(the page, Pyodide and its snapshot with the tokenizer loaded, conteur.json) is
precached when the service worker installs; "webgpu" and "wasm" (a backend's onnxruntime build and the files
of its own graph) are cached the first time the page fetches them, so a reader
downloads only the backend their browser runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
import tomllib
from pathlib import Path

from pyshell.config import read_graphs
from pyshell.settings import page_settings
from web.block_hashes import BLOCK_BYTES, block_sha256s
from web.icons import write_icons
from web.precompress import write_gzip_copies
from web.python_start import PythonStartError, python_start_snapshot
from web.serve import CONTENT_SECURITY_POLICY
from web.wheel import PACKAGE, build_wheel, write_lock_file

__all__ = [
    "PYTHON_START", "PYTHON_START_MODULE", "SETTINGS_MODULE", "BuildError", "build_site", "main",
    "write_python_start_module", "write_settings_module",
]  # fmt: skip

ROOT = Path(__file__).resolve().parent.parent
STATIC = Path(__file__).resolve().parent / "static"
NODE_MODULES = ROOT / "node_modules"
DEFAULT_MODEL = ROOT / "models" / "gemma-3-270m"
DEFAULT_OUT = ROOT / "build" / "site"
CACHE = ROOT / "build" / "cache"  # what builds reuse: Python's start, gzip copies, block hashes

# What the page loads from each npm package, and where it goes in the site.
ORT_FILES = {
    # WebGPU: the C++ WebGPU backend (docs/facts/browser.md) and its asyncify wasm.
    "webgpu": [
        "ort.webgpu.min.mjs",
        "ort-wasm-simd-threaded.asyncify.mjs",
        "ort-wasm-simd-threaded.asyncify.wasm",
    ],
    # CPU: the plain wasm build (the webgpu build's wasm backend lacks GatherBlockQuantized).
    "wasm": ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"],
}
BACKENDS = tuple(ORT_FILES)
CORE = "core"  # the download group precached at install; the others are the backends
# Served, never precached and never loaded by the page: kept only if a reader asks for it.
ON_REQUEST = "on-request"
# The tokenizer's SentencePiece model: the page loads the same pieces from its
# `tokenizer.pieces` table (pyshell.tokenizer.Tokenizer.from_pieces_file), 5.2 MB less.
# And that table itself: the build's snapshot of Python holds the tokenizer loaded
# (web/python_start.py); only an interpreter that starts afresh asks for the file.
ON_REQUEST_MODEL_FILES = ["tokenizer.model", "tokenizer.pieces"]
PYODIDE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"]
# hash-wasm's sha256 build (a classic script defining `hashwasm`): node_modules path → site
# path. The service worker loads it with importScripts, the worker imports it for its effect.
HASH_WASM = ("hash-wasm/dist/sha256.umd.min.js", "vendor/hash-wasm/sha256.umd.min.js")
# ES modules the page imports from npm packages, as published (no bundler): package →
# {file in the package: path in the site}. idb's build is one self-contained module.
NPM_MODULES = {"idb": {"build/index.js": "vendor/idb/index.js"}}
# Model files the site must hold besides the graphs (conteur.json lists them all): the
# build snapshots Python with the pieces loaded, the page links the terms and NOTICE.
REQUIRED_MODEL_FILES = ["tokenizer.pieces", "tokenizer.model", "GEMMA_TERMS.html", "NOTICE"]
# Filled in by the build; the placeholders are what web/static holds.
SW_PLACEHOLDER = 'const BUILD = { version: "dev", files: [], blockBytes: 0 };'
HTML_PLACEHOLDER = 'data-version="dev"'
ORT_VERSION_PLACEHOLDER = 'data-ort-version="dev"'
CSP_PLACEHOLDER = 'content="dev-policy"'
HEADER_ONLY_DIRECTIVES = {"frame-ancestors", "report-uri", "sandbox"}  # ignored in <meta>
NOT_PRECACHED = {"sw.js"}  # the browser fetches the service worker itself
SETTINGS_MODULE = "js/shared/pyshell-settings.js"  # generated, never in web/static
# Python's start (web/python_start.py), and the generated module that tells the worker
# its size and sha256, so it reads the service worker's stored copy straight away.
PYTHON_START = "py/python-start.snapshot"
PYTHON_START_MODULE = "js/worker/python-start.js"  # generated, never in web/static


class BuildError(RuntimeError):
    """The site cannot be built; the message says what to do."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _place(src: Path, dst: Path, link: bool) -> None:
    """Hard-link when allowed (the model is 200+ MB), else copy."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copyfile(src, dst)


def _pyshell_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _ort_version() -> str:
    package = NODE_MODULES / "onnxruntime-web" / "package.json"
    return json.loads(package.read_text())["version"]


def model_files(config: dict) -> list[str]:
    """Every file of the model folder the site serves: those conteur.json lists, and itself."""
    return [*sorted(config["files"]), "conteur.json"]


def download_groups(config: dict) -> dict[str, str]:
    """Site URL → download group for each backend's files and the files kept on
    request; every other file is core.

    A backend's group holds its onnxruntime build and its graph's files: the two
    graphs share no file (export/folder/data_files.py), so a reader downloads only one.
    """
    graphs = read_graphs(config)
    groups = {}
    for kind in BACKENDS:
        urls = [f"vendor/ort/{name}" for name in ORT_FILES[kind]]
        urls += [f"model/{name}" for name in graphs[kind].files]
        for url in urls:
            if groups.setdefault(url, kind) != kind:
                raise BuildError(f"both graphs list {url}: the exporter writes none; re-export")
    for name in ON_REQUEST_MODEL_FILES:
        groups[f"model/{name}"] = ON_REQUEST
    return groups


def _read_config(model_dir: Path) -> dict:
    """conteur.json, with every file the page needs listed in its `files`."""
    path = model_dir / "conteur.json"
    if not path.is_file():
        raise BuildError(
            f"{model_dir} lacks conteur.json: re-export the model with `python -m export`"
        )
    try:
        config = json.loads(path.read_text())
        listed = config["files"]
        needed = [n for graph in read_graphs(config).values() for n in graph.files]
    except (ValueError, KeyError, TypeError) as exc:  # ConfigError is a ValueError
        raise BuildError(f"{path} is unreadable ({exc!r}): re-export") from None
    unlisted = [n for n in dict.fromkeys(needed + REQUIRED_MODEL_FILES) if n not in listed]
    if unlisted:
        raise BuildError(f"conteur.json does not list {', '.join(unlisted)}: re-export the model")
    return config


def check_model(model_dir: Path) -> dict:
    """The model's conteur.json, after checking every file's size and sha256 against it.

    Each backend's graph (conteur.json `graphs`, read by pyshell/config.py) must be
    listed; every file `files` lists must be present and intact.
    """
    if not model_dir.is_dir():
        raise BuildError(
            f"no model folder at {model_dir}: export one with `python -m export` "
            "(./conteur serve does it) or pass --model DIR"
        )
    config = _read_config(model_dir)
    listed = config["files"]
    missing = [name for name in listed if not (model_dir / name).is_file()]
    if missing:
        raise BuildError(
            f"{model_dir} lacks {', '.join(missing)}: re-export the model with `python -m export`"
        )
    for name, entry in listed.items():
        path = model_dir / name
        if path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            raise BuildError(
                f"{path} does not match the size and sha256 in conteur.json: the file is "
                "damaged or from another export; re-export the model"
            )
    return config


def _check_node_modules() -> None:
    wanted = [NODE_MODULES / "onnxruntime-web" / "dist" / n for n in _ort_names()]
    wanted += [NODE_MODULES / "pyodide" / n for n in PYODIDE_FILES]
    wanted.append(NODE_MODULES / HASH_WASM[0])
    wanted += [NODE_MODULES / pkg / n for pkg, files in NPM_MODULES.items() for n in files]
    missing = [str(p.relative_to(ROOT)) for p in wanted if not p.is_file()]
    if missing:
        raise BuildError(
            f"missing {missing[0]} (and {len(missing) - 1} more): install the browser "
            "runtimes with `npm ci` (./conteur setup does it)"
        )


def _ort_names() -> list[str]:
    return [name for kind in BACKENDS for name in ORT_FILES[kind]]


def _file_list(site: Path, model_config: dict) -> list[dict]:
    """Every file the service worker caches: its URL relative to the site, size, sha256
    and download group.

    Model files take their sha256 from conteur.json (just checked), so the
    200+ MB weights are hashed once per build, not twice.
    """
    known = {f"model/{name}": entry["sha256"] for name, entry in model_config["files"].items()}
    groups = download_groups(model_config)
    files = []
    for path in sorted(site.rglob("*")):
        if not path.is_file():
            continue
        url = path.relative_to(site).as_posix()
        if url in NOT_PRECACHED:
            continue
        sha = known.get(url) or _sha256(path)
        group = groups.get(url, CORE)
        files.append({"url": url, "bytes": path.stat().st_size, "sha256": sha, "group": group})
    return files


def _site_version(files: list[dict]) -> str:
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f['url']}\0{f['sha256']}\n".encode())
    return digest.hexdigest()[:16]


def write_settings_module(path: Path) -> None:
    """The page's copy of pyshell's rules (pyshell.settings.page_settings) as an ES module."""
    if (STATIC / SETTINGS_MODULE).exists():
        raise BuildError(f"web/static/{SETTINGS_MODULE} must not exist: the build writes it")
    settings = json.dumps(page_settings(), ensure_ascii=False, indent=2, sort_keys=True)
    path.write_text(
        "// Generated by web/build.py from pyshell.settings.page_settings(): do not edit.\n"
        f"export const SETTINGS = {settings};\n",
        encoding="utf-8",
    )


def write_python_start(site: Path, wheel: Path, link: bool) -> None:
    """Python's start snapshot in the site (ready for the site's model, with pyshell from
    `wheel`), and the module that names its bytes and the wheel's."""
    if (STATIC / PYTHON_START_MODULE).exists():
        raise BuildError(f"web/static/{PYTHON_START_MODULE} must not exist: the build writes it")
    try:
        snapshot = python_start_snapshot(
            NODE_MODULES / "pyodide", CACHE / "python-start", wheel, site / "model"
        )
    except PythonStartError as exc:
        raise BuildError(str(exc)) from None
    _place(snapshot, site / PYTHON_START, link)
    entry = {"url": PYTHON_START, "bytes": snapshot.stat().st_size, "sha256": _sha256(snapshot)}
    url = wheel.relative_to(site).as_posix()
    entry["wheel"] = {"url": url, "bytes": wheel.stat().st_size, "sha256": _sha256(wheel)}
    write_python_start_module(site / PYTHON_START_MODULE, entry)


def write_python_start_module(path: Path, entry: dict) -> None:
    """The worker's module naming the snapshot's url, bytes and sha256 (`entry`), and
    under `wheel` the same for the pyshell wheel whose files it puts back."""
    path.write_text(
        "// Generated by web/build.py: Python's start snapshot (web/python_start.py).\n"
        f"export const PYTHON_START = {json.dumps(entry)};\n",
        encoding="utf-8",
    )


def write_served_config(config: dict, path: Path) -> None:
    """The model's conteur.json as the site serves it: without `source.path`, where the
    exporter read its source on the building machine (`python -m export --verify` reads
    it from the model folder, never from the site)."""
    served = json.loads(json.dumps(config))
    served.get("source", {}).pop("path", None)
    path.write_text(json.dumps(served, indent=2) + "\n", encoding="utf-8")


def weight_files(config: dict) -> set[str]:
    """Site paths of the graphs' weights (data and rest files): never gzipped."""
    graphs = read_graphs(config).values()
    return {f"model/{name}" for graph in graphs for name in graph.files if name != graph.model}


def meta_policy(policy: str) -> str:
    """`policy` without the directives a <meta> policy ignores (and warns about)."""
    kept = [d.strip() for d in policy.split(";") if d.split()[0] not in HEADER_ONLY_DIRECTIVES]
    return "; ".join(kept)


def _fill(path: Path, placeholder: str, value: str) -> None:
    text = path.read_text()
    if placeholder not in text:
        raise BuildError(f"{path.name} lost its build placeholder {placeholder!r}")
    path.unlink()  # never write through a hard link
    path.write_text(text.replace(placeholder, value))


def build_site(model_dir: Path = DEFAULT_MODEL, out: Path = DEFAULT_OUT, link: bool = True) -> dict:
    """Assemble the site in `out` (replaced whole); returns {version, files, bytes, groups}.

    groups: bytes per download group (core is what the service worker precaches).
    """
    _check_node_modules()
    model_config = check_model(model_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    for src in sorted(STATIC.rglob("*")):
        if src.is_file():
            _place(src, out / src.relative_to(STATIC), link=False)
    write_settings_module(out / SETTINGS_MODULE)
    write_icons(out / "icons")
    for name in _ort_names():
        _place(
            NODE_MODULES / "onnxruntime-web" / "dist" / name, out / "vendor" / "ort" / name, link
        )
    for name in PYODIDE_FILES:
        _place(NODE_MODULES / "pyodide" / name, out / "vendor" / "pyodide" / name, link)
    _place(NODE_MODULES / HASH_WASM[0], out / HASH_WASM[1], link)
    for package, files in NPM_MODULES.items():
        for name, url in files.items():
            _place(NODE_MODULES / package / name, out / url, link)
    version = _pyshell_version()
    wheel = build_wheel(ROOT / PACKAGE, out / "py", version)
    write_lock_file(
        wheel, NODE_MODULES / "pyodide" / "pyodide-lock.json", out / "py" / "pyodide-lock.json",
        version,
    )  # fmt: skip
    for name in model_files(model_config):
        if name == "conteur.json":
            write_served_config(model_config, out / "model" / name)
        else:
            _place(model_dir / name, out / "model" / name, link)
    write_python_start(out, wheel, link)

    # The page remembers WebGPU self-check verdicts per onnxruntime-web version.
    _fill(out / "index.html", ORT_VERSION_PLACEHOLDER, f'data-ort-version="{_ort_version()}"')
    _fill(out / "index.html", CSP_PLACEHOLDER, f'content="{meta_policy(CONTENT_SECURITY_POLICY)}"')
    # index.html carries the version too, so it is hashed as its template.
    files = _file_list(out, model_config)
    site_version = _site_version(files)
    _fill(out / "index.html", HTML_PLACEHOLDER, f'data-version="{site_version}"')
    for f in files:
        if f["url"] == "index.html":
            path = out / "index.html"
            f.update(bytes=path.stat().st_size, sha256=_sha256(path))
    for f in files:
        if f["bytes"] > BLOCK_BYTES:  # checked block by block (web/block_hashes.py)
            f["blocks"] = block_sha256s(out / f["url"], f["sha256"], CACHE / "blocks")
    build = {
        "version": site_version, "model": model_config.get("name", "model"), "files": files,
        "blockBytes": BLOCK_BYTES, "csp": CONTENT_SECURITY_POLICY,
    }  # fmt: skip
    _fill(out / "sw.js", SW_PLACEHOLDER, f"const BUILD = {json.dumps(build)};")
    write_gzip_copies(out, weight_files(model_config), CACHE / "gzip", link)
    groups = {group: 0 for group in (CORE, *BACKENDS, ON_REQUEST)}
    for f in files:
        groups[f["group"]] += f["bytes"]
    total = sum(f["bytes"] for f in files)
    return {"version": site_version, "files": len(files), "bytes": total, "groups": groups}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m web.build", description="Assemble the static site (default build/site/)."
    )
    parser.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL, metavar="DIR",
        help=f"exported model folder (default: {DEFAULT_MODEL.relative_to(ROOT)})",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
        help=f"output folder, replaced whole (default: {DEFAULT_OUT.relative_to(ROOT)})",
    )  # fmt: skip
    parser.add_argument(
        "--copy", action="store_true", help="copy large files instead of hard-linking them"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        info = build_site(args.model.resolve(), args.out.resolve(), link=not args.copy)
    except BuildError as exc:
        print(f"web.build: error: {exc}", file=sys.stderr)
        return 1
    groups = ", ".join(f"{group} {size / 1e6:.1f} MB" for group, size in info["groups"].items())
    print(
        f"web.build: {args.out} ({info['files']} files, {info['bytes'] / 1e6:.1f} MB: {groups}; "
        f"version {info['version']}) in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
