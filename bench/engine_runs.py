"""Conteur's engine page (bench/pages/conteur-engine.html) beyond the trials.

- profile_in_browser: onnxruntime-web's own profiler during a prompt and a few
  decode steps, in the same Chromium: where a token's time goes in wasm.
- what_if: the same weights with one thing changed (threads, kernel choice,
  onnxruntime-web version), timed in alternation: what would close the gap.
"""

from __future__ import annotations

import itertools
import json
import statistics
import tempfile
from pathlib import Path

import onnx

from bench.browser import launch, wait_for_bench_state
from bench.op_profile import graph_file, model_runs, node_roles, summarize_trace
from bench.prompts import Prompt

PAGE = "/bench/pages/conteur-engine.html"


def _open(context, url: str, console: list[str] | None = None):
    page = context.new_page()
    if console is not None:
        page.on("console", lambda message: console.append(message.text))
    page.goto(url, wait_until="commit")
    return page, wait_for_bench_state(page)


def _generate(page, prompt: Prompt, new_tokens: int) -> dict:
    return page.evaluate(
        "(request) => window.bench.generate(request)",
        {"ids": prompt.ids, "text": prompt.text, "maxNewTokens": new_tokens},
    )


def parse_console_trace(lines: list[str]) -> list[dict]:
    """onnxruntime-web prints its profile as one JSON event per console line."""
    events = []
    for line in lines:
        text = line.strip().rstrip(",")
        if text.startswith("{") and '"ph"' in text:
            try:
                events.append(json.loads(text))
            except ValueError:
                continue
    return events


def profile_in_browser(
    playwright, base_url: str, model_dir: Path, prompt: Prompt, steps: int
) -> dict:
    """Prefill of `prompt` and `steps` decode steps with onnxruntime-web's profiler on."""
    graph = graph_file(model_dir, "wasm")
    roles, weights = node_roles(onnx.load(str(graph), load_external_data=False))
    console: list[str] = []
    with tempfile.TemporaryDirectory(prefix="conteur-bench-profile-") as profile:
        context = launch(playwright, Path(profile))
        try:
            page, state = _open(context, f"{base_url}{PAGE}?profile", console)
            _generate(page, prompt, steps + 1)
            page.wait_for_timeout(500)  # let the last console lines arrive
        finally:
            context.close()
    trace = parse_console_trace(console)
    runs = model_runs(trace)
    if len(runs) < 2:
        raise RuntimeError("onnxruntime-web printed no profile")
    decode = summarize_trace(trace, runs[1:], roles)
    return decode | {
        "threads": state["detail"].get("threads"),
        "runtime": state["detail"].get("runtime"),
        "matmul_weights": weights,
        "prefill": summarize_trace(trace, runs[:1], roles) | {"tokens": len(prompt.ids)},
    }


def what_if(
    playwright,
    base_url: str,
    variants: dict[str, str],
    prompt: Prompt,
    rounds: int,
    steps: int,
    log,
) -> dict:
    """Decode ms per token for each variant (a query string), in alternation."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    prefill: dict[str, list[float]] = {name: [] for name in variants}
    tokens: dict[str, list[int]] = {}
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="conteur-bench-what-if-") as profile:
        context = launch(playwright, Path(profile))  # one profile: the Cache API keeps the models
        try:
            for _ in range(rounds):
                for name, query in variants.items():
                    if name in errors:
                        continue
                    try:
                        page, _ = _open(context, f"{base_url}{PAGE}{query}")
                        result = _generate(page, prompt, steps + 1)
                        page.close()
                    except Exception as exc:  # noqa: BLE001 (one broken variant is reported)
                        errors[name] = f"{type(exc).__name__}: {exc}"[:500]
                        log(f"bench: what-if {name}: {errors[name]}")
                        continue
                    ms = result["tokenMs"]
                    gaps = [b - a for a, b in itertools.pairwise(ms)]
                    times[name].append(statistics.median(gaps))
                    prefill[name].append(ms[0] - result["startMs"])
                    tokens.setdefault(name, result["tokens"])
        finally:
            context.close()
    out = {}
    for name, query in variants.items():
        if not times[name]:
            out[name] = {"error": errors.get(name, "no result")}
            continue
        out[name] = {
            "query": query,
            "ms_per_token_median": statistics.median(times[name]),
            "ms_per_token_min": min(times[name]),
            "ms_per_token_max": max(times[name]),
            "ttft_ms_median": statistics.median(prefill[name]),
            "tokens": tokens.get(name, []),
        }
    return out
