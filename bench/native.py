"""llama.cpp natively (llama-cpp-python) on the same GGUF: the CPU ceiling.

Optional: llama-cpp-python builds from source (about 18 minutes on 2 cores),
so the bench never installs it; it runs this contender when it is importable.
`./conteur` builds it for x86-64 with AVX2, FMA and F16C rather than for the building
CPU: pip keeps the wheel it built and may hand it to a later machine, and a build made
where AMX was available crashed (a segfault in `ggml_backend_amx_mul_mat`, on an
Intel Xeon host, 2026-12-07) on the first evaluation of Gemma 3's Q4_K_M weights, so
every trial failed with llama.cpp's last log line ("using full-size SWA cache").
Each trial is a child process (`python -m bench.native`), so its memory is
measured alone, like a browser's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np

from bench.browser import Trial, token_metrics
from bench.memory import MemorySampler
from bench.prompts import Prompt

WARMUP_TOKENS = 4


def available() -> bool:
    try:
        import llama_cpp  # noqa: F401 (optional: built from source, see the module docstring)
    except Exception:  # noqa: BLE001 (a broken build raises more than ImportError)
        return False
    return True


def version() -> str | None:
    try:
        import llama_cpp  # optional: see available()

        return getattr(llama_cpp, "__version__", "?")
    except Exception:  # noqa: BLE001 (see available())
        return None


def run_trial(
    gguf: Path, prompts: list[Prompt], decode_tokens: int, threads: int, rep: int
) -> Trial:
    """One trial in a child process; memory is the child's peak."""
    trial = Trial("llama.cpp", rep)
    marker = f"bench-native-{uuid.uuid4().hex}"
    request = {
        "gguf": str(gguf),
        "prompts": [{"name": p.name, "ids": p.ids} for p in prompts],
        "decode_tokens": decode_tokens,
        "threads": threads,
    }
    sampler = MemorySampler(marker=marker).start()
    sampler.phase = "runs"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.native", marker],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            cwd=Path(__file__).resolve().parent.parent,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip()[-1000:])
        result = json.loads(done.stdout.strip().splitlines()[-1])
        trial.cold = {"load_ms": result["load_ms"]}  # from the file: no download, no cache
        trial.warm = {"load_ms": result["load_ms"]}
        trial.runs = result["runs"]
        trial.detail = {"runtime": f"llama-cpp-python {version()}", "threads": threads}
    except Exception as exc:  # noqa: BLE001 (reported in the results, the bench goes on)
        trial.error = f"{type(exc).__name__}: {exc}"[:2000]
    finally:
        sampler.stop()
        trial.memory = sampler.report()
    return trial


def _generate(llm, ids: list[int], max_new_tokens: int) -> tuple[float, list[float], list[int]]:
    """Greedy decoding with llama.cpp's own eval; returns (start, token times, tokens)."""
    llm.reset()
    start = time.perf_counter()
    llm.eval(ids)
    times, tokens = [], []
    while len(tokens) < max_new_tokens:
        token = int(_last_logits(llm).argmax())
        times.append(time.perf_counter())
        tokens.append(token)
        if len(tokens) < max_new_tokens:
            llm.eval([token])
    return start, times, tokens


def _last_logits(llm):
    """The last evaluated position's logits, straight from llama.cpp's context."""
    import llama_cpp  # optional: the child process runs only when available()

    pointer = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    return np.ctypeslib.as_array(pointer, shape=(llm.n_vocab(),))


def main(argv: list[str]) -> int:
    """Child process: read the request on stdin, print one JSON line."""
    from llama_cpp import Llama  # optional: the child process runs only when available()

    request = json.loads(sys.stdin.read())
    started = time.perf_counter()
    llm = Llama(
        model_path=request["gguf"],
        n_ctx=2048,
        n_threads=request["threads"],
        n_threads_batch=request["threads"],
        n_gpu_layers=0,
        verbose=False,
    )
    load_ms = (time.perf_counter() - started) * 1000
    prompts = request["prompts"]
    _generate(llm, prompts[0]["ids"], WARMUP_TOKENS)
    runs = {}
    for i, prompt in enumerate(prompts):
        wanted = request["decode_tokens"] if i == 0 else 1
        start, times, tokens = _generate(llm, prompt["ids"], wanted)
        ms = [(t - start) * 1000 for t in times]
        runs[prompt["name"]] = token_metrics(len(prompt["ids"]), ms[0], ms) | {"tokens": tokens}
    print(json.dumps({"load_ms": load_ms, "runs": runs}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
