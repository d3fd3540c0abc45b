"""Describe the machine and the software versions a result was measured with."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

import onnxruntime

from harness.chromium import CHROMIUM


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def chromium_version() -> str:
    try:
        out = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "not found"


def npm_version(node_modules: Path, package: str) -> str | None:
    try:
        return json.loads((node_modules / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def describe(root: Path) -> dict:
    """Everything RESULTS.md states about where and with what it ran."""
    bench_modules = root / "bench" / "node_modules"
    return {
        "cores": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "chromium": chromium_version(),
        "python": platform.python_version(),
        "onnxruntime_python": onnxruntime.__version__,
        "packages": {
            "onnxruntime-web (Conteur)": npm_version(root / "node_modules", "onnxruntime-web"),
            "pyodide": npm_version(root / "node_modules", "pyodide"),
            "@wllama/wllama": npm_version(bench_modules, "@wllama/wllama"),
            "@huggingface/transformers": npm_version(bench_modules, "@huggingface/transformers"),
            "onnxruntime-web (transformers.js)": npm_version(bench_modules, "onnxruntime-web"),
        },
        "load_average_start": load_average(),
        "conteur_model": exported_model(root / "models" / "gemma-3-270m"),
    }


def exported_model(folder: Path) -> dict | None:
    """Which export of Conteur's model was measured (conteur.json)."""
    try:
        config = json.loads((folder / "conteur.json").read_text())
    except (OSError, ValueError):
        return None
    files = config.get("files", {})
    return {
        "export_version": config.get("export_version"),
        "quantization": (config.get("quantization") or {}).get("description"),
        "bytes": sum(f.get("bytes", 0) for name, f in files.items() if name.startswith("model.")),
    }
