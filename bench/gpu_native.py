"""The WebGPU graph on a real GPU, without a browser: onnxruntime's WebGPU provider natively.

Chromium on the bench machine has no GPU (its WebGPU is SwiftShader, a CPU
emulation), so the page's WebGPU path is measured here on a machine that has
one: the same model.onnx, opened by onnxruntime's WebGPU execution provider
built natively over Dawn (the PyPI plugin `onnxruntime-ep-webgpu`, Vulkan on
Linux). Two questions, kept apart:

- does it compute what the CPU computes? The evaluation story's logits, every
  position, against onnxruntime's CPU provider on the same graph (which the
  export checks against the numpy float32 reference): largest difference,
  mean KL, top-1 agreement; and the greedy continuation of the bench's
  128-token prompt on both, token by token;
- how fast? Session start, time to first token for the bench's 128- and
  512-token prompts, and 128 greedy tokens decoded, the median of 3.

The page keeps the KV cache on the GPU between steps (preferredOutputLocation). Both
are measured here: the cache through numpy at every step (as pyshell's OnnxRunner
does), and kept where the provider wrote it (IO binding), as the page keeps it.

    python -m bench.gpu_native --model models/gemma-3-270m --out gpu.json
    python -m bench.gpu_native --report gpu.json   # the markdown table

`--provider cpu` runs every step with the CPU provider in place of the GPU's: a
dry run of this script on a machine without a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import onnxruntime as ort

from bench.prompts import make_prompts
from export.checks.metrics import fidelity
from export.checks.onnx_io import empty_past
from pyshell.tokenizer import Tokenizer

DECODE_TOKENS = 128
PAGE_RUN = 31  # js/worker/ort-runner.js WEBGPU_MAX_RUN: the page's longest WebGPU run
REPETITIONS = 3
EVAL_STORY = Path(__file__).resolve().parents[1] / "export" / "data" / "eval_story.txt"


def webgpu_session(model: Path) -> ort.InferenceSession:
    """`model` on onnxruntime's WebGPU provider (the plugin's library registered first)."""
    import onnxruntime_ep_webgpu as plugin  # only on the GPU machine: see the module docstring

    ort.register_execution_provider_library("webgpu", plugin.get_library_path())
    devices = [d for d in ort.get_ep_devices() if d.ep_name == plugin.get_ep_name()]
    if not devices:
        raise RuntimeError("no WebGPU adapter found (is libvulkan.so.1 installed?)")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.add_provider_for_devices(devices[:1], {})
    return ort.InferenceSession(str(model), sess_options=options)


def cpu_session(model: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


class Steps:
    """Feeds tokens to one session the way pyshell's OnnxRunner does (KV cache in numpy);
    OnnxRunner itself opens its own session, on the CPU provider only."""

    def __init__(self, session: ort.InferenceSession, config: dict) -> None:
        self.session = session
        self.past_names = [i.name for i in session.get_inputs() if i.name.startswith("past_")]
        self.present_names = ["present." + n[len("past_key_values.") :] for n in self.past_names]
        self.past = empty_past(config)

    def run(self, ids: list[int], outputs: list[str], keep: int = 1) -> list[np.ndarray]:
        feeds = {
            "input_ids": np.asarray([ids], np.int64),
            "num_logits_to_keep": np.asarray(keep, np.int64),
            **self.past,
        }
        results = self.session.run(outputs + self.present_names, feeds)
        self.past = dict(zip(self.past_names, results[len(outputs) :]))
        return results[: len(outputs)]

    def next_token(self, ids: list[int]) -> int:
        (top_ids,) = self.run(ids, ["top_ids"])
        return int(top_ids[0][0])


def timed_greedy(next_token, prompt: list[int], tokens: int, run: int | None = None):
    """`tokens` greedy ids after `prompt` from `next_token(ids) -> id`, the prompt fed in
    runs of at most `run` tokens (default: one run); seconds to the first id, then
    seconds for the rest."""
    size = run or len(prompt)
    start = time.perf_counter()
    for at in range(0, len(prompt), size):
        first_id = next_token(prompt[at : at + size])
    out = [first_id]
    first = time.perf_counter() - start
    start = time.perf_counter()
    while len(out) < tokens:
        out.append(next_token([out[-1]]))
    return out, first, time.perf_counter() - start


def greedy(session, config, prompt: list[int], tokens: int) -> tuple[list[int], float, float]:
    """`timed_greedy` with the KV cache through numpy."""
    return timed_greedy(Steps(session, config).next_token, prompt, tokens)


def greedy_kept_kv(
    session, config, prompt: list[int], tokens: int, device: str, run: int | None = None
):
    """`greedy`, with the KV cache left where the provider wrote it (IO binding on `device`),
    as the page keeps it on WebGPU: only the next token's id crosses to the host. `run`:
    feed the prompt in runs of at most that many tokens, as the page does."""
    steps = Steps(session, config)
    binding = session.io_binding()
    past = {n: ort.OrtValue.ortvalue_from_numpy(v) for n, v in steps.past.items()}

    def next_token(ids: list[int]) -> int:
        binding.clear_binding_inputs()
        binding.clear_binding_outputs()
        binding.bind_cpu_input("input_ids", np.asarray([ids], np.int64))
        binding.bind_cpu_input("num_logits_to_keep", np.asarray(1, np.int64))
        for name in steps.past_names:
            binding.bind_ortvalue_input(name, past[name])
        binding.bind_output("top_ids")
        for name in steps.present_names:
            binding.bind_output(name, device)
        session.run_with_iobinding(binding)
        top_ids, *presents = binding.get_outputs()
        past.update(zip(steps.past_names, presents))
        return int(top_ids.numpy()[0][0])

    return timed_greedy(next_token, prompt, tokens, run)


def kept_kv_runs(session, config, prompts: dict, device: str) -> dict:
    """Decode with the KV cache kept on the device, and the long prompt's first token in one
    run and in the page's runs; or why onnxruntime would not."""
    p128, p512 = prompts["p128"], prompts["p512"]
    try:
        greedy_kept_kv(session, config, p128, 8, device)
        reps = range(REPETITIONS)
        runs = [greedy_kept_kv(session, config, p128, DECODE_TOKENS, device) for _ in reps]
        whole = [greedy_kept_kv(session, config, p512, 1, device) for _ in reps]
        paged = [greedy_kept_kv(session, config, p512, 1, device, PAGE_RUN) for _ in reps]
    except Exception as error:  # noqa: BLE001 (the measurement reports what failed)
        return {"error": f"{type(error).__name__}: {error}"[:300]}
    return {
        "ids": runs[0][0],
        "ttft_128_s": statistics.median(r[1] for r in runs),
        "decode_tok_s": statistics.median((DECODE_TOKENS - 1) / r[2] for r in runs),
        "ttft_512_s": statistics.median(r[1] for r in whole),
        "ttft_512_page_runs_s": statistics.median(r[1] for r in paged),
        "page_runs_same_first_token": paged[0][0] == whole[0][0],
    }


def agreement(gpu, cpu, config: dict, ids: list[int]) -> dict:
    """The GPU's logits on `ids` (every position) against the CPU provider's."""
    keep = len(ids)
    (gpu_logits,) = Steps(gpu, config).run(ids, ["logits"], keep)
    (cpu_logits,) = Steps(cpu, config).run(ids, ["logits"], keep)
    gpu_logits, cpu_logits = gpu_logits[0], cpu_logits[0]
    return {
        "max_abs_logit_diff": round(float(np.abs(gpu_logits - cpu_logits).max()), 5),
        **fidelity(cpu_logits, gpu_logits, ids),
    }


def gpu_name() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def measure(model_dir: Path, provider: str = "webgpu") -> dict:
    config = json.loads((model_dir / "conteur.json").read_text())
    model = model_dir / config["graphs"]["webgpu"]["model"]
    prompts = {p.name: p.ids for p in make_prompts(model_dir / "tokenizer.model")}
    start = time.perf_counter()
    gpu = webgpu_session(model) if provider == "webgpu" else cpu_session(model)
    session_s = time.perf_counter() - start
    cpu = cpu_session(model)
    greedy(gpu, config, prompts["p128"], 8)  # shaders compile on first use: not timed

    runs = []
    for _ in range(REPETITIONS):
        _, ttft_512, _ = greedy(gpu, config, prompts["p512"], 1)
        ids, ttft_128, rest = greedy(gpu, config, prompts["p128"], DECODE_TOKENS)
        runs.append(
            {
                "ttft_128_s": ttft_128,
                "ttft_512_s": ttft_512,
                "decode_tok_s": (DECODE_TOKENS - 1) / rest,
            }
        )
    kept = kept_kv_runs(gpu, config, prompts, provider)  # IO binding's device names
    cpu_ids, cpu_ttft, cpu_rest = greedy(cpu, config, prompts["p128"], DECODE_TOKENS)
    same = next((i for i, (a, b) in enumerate(zip(ids, cpu_ids)) if a != b), len(ids))
    if "ids" in kept:
        kept["same_as_numpy_kv"] = kept.pop("ids") == ids
    eval_ids = Tokenizer.from_file(model_dir / "tokenizer.model").encode(
        EVAL_STORY.read_text(), add_bos=True
    )
    return {
        "gpu": gpu_name(),
        "provider": ", ".join(gpu.get_providers()),
        "onnxruntime": ort.__version__,
        "plugin": _plugin_version(),
        "cpu": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "model": config["graphs"]["webgpu"]["model"],
        "export_version": config.get("export_version"),
        "session_s": session_s,
        "runs": runs,
        "median": {k: statistics.median(r[k] for r in runs) for k in runs[0]},
        "kept_kv": kept,
        "cpu_provider": {
            "ttft_128_s": cpu_ttft,
            "decode_tok_s": (DECODE_TOKENS - 1) / cpu_rest,
            "threads": os.cpu_count(),
        },
        "greedy_same_tokens": same,
        "greedy_tokens": DECODE_TOKENS,
        "logits_vs_cpu": agreement(gpu, cpu, config, eval_ids),
    }


def _plugin_version() -> str:
    try:
        return version("onnxruntime-ep-webgpu")
    except PackageNotFoundError:
        return "not installed"


def report(results: dict) -> str:
    """The markdown section for one measurement."""
    m, c, f = results["median"], results["cpu_provider"], results["logits_vs_cpu"]
    lines = [
        (
            f"- GPU: {results['gpu']}; onnxruntime {results['onnxruntime']} with "
            f"onnxruntime-ep-webgpu {results['plugin']} ({results['provider']}); graph "
            f"{results['model']}, export {results['export_version']}; host {results['cpu']}."
        ),
        "",
        "| | WebGPU provider (GPU) | CPU provider, same graph |",
        "|---|---|---|",
        f"| Session start (s) | {results['session_s']:.2f} | |",
        (
            f"| Time to first token, 128-token prompt (s) | {m['ttft_128_s']:.3f} "
            f"| {c['ttft_128_s']:.3f} |"
        ),
        f"| Time to first token, 512-token prompt (s) | {m['ttft_512_s']:.3f} | |",
        (
            f"| Decode, {results['greedy_tokens']} greedy tokens (tokens/s) | "
            f"{m['decode_tok_s']:.1f} | {c['decode_tok_s']:.1f} ({c['threads']} threads) |"
        ),
        _kept_kv_row(results["kept_kv"], results["greedy_tokens"]),
        "",
        (
            f"- Same greedy tokens as the CPU provider: the first {results['greedy_same_tokens']} "
            f"of {results['greedy_tokens']}."
        ),
        (
            f"- Logits on the evaluation story ({f['tokens']} tokens, every position) against the CPU "
            f"provider: largest difference {f['max_abs_logit_diff']}, mean KL {_kl(f['kl'])}, "
            f"top-1 agreement {f['top1']:.4f}, perplexity ratio {f['ppl_ratio']:.4f}."
        ),
    ]
    return "\n".join(lines) + "\n"


def _kl(kl: float) -> str:
    """export.checks.metrics rounds KL to 5 decimals: 0 means below 0.00001."""
    return "below 0.00001" if kl == 0 else f"{kl:.5f}"


def _kept_kv_row(kept: dict, tokens: int) -> str:
    if "error" in kept:
        return f"| Decode, KV cache kept on the device (tokens/s) | not run: {kept['error']} | |"
    same = "same tokens" if kept["same_as_numpy_kv"] else "other tokens"
    rows = [
        (
            f"| Decode, {tokens} greedy tokens, KV cache kept on the device (tokens/s) "
            f"| {kept['decode_tok_s']:.1f} ({same}) | |"
        )
    ]
    if "ttft_512_page_runs_s" in kept:
        first = "same first token" if kept["page_runs_same_first_token"] else "another first token"
        rows += [
            (
                f"| Time to first token, 512-token prompt, KV kept, one run (s) "
                f"| {kept['ttft_512_s']:.3f} | |"
            ),
            (
                f"| Time to first token, 512-token prompt, KV kept, in the page's runs of "
                f"{PAGE_RUN} (s) | {kept['ttft_512_page_runs_s']:.3f} ({first}) | |"
            ),
        ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="the exported model folder")
    parser.add_argument("--out", type=Path, help="write the measurement here (JSON)")
    parser.add_argument("--report", type=Path, help="print the markdown for a saved measurement")
    parser.add_argument("--provider", choices=["webgpu", "cpu"], default="webgpu")
    args = parser.parse_args(argv)
    if args.report:
        print(report(json.loads(args.report.read_text())), end="")
        return 0
    if not args.model or not args.out:
        parser.error("--model and --out are needed to measure")
    results = measure(args.model, args.provider)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
