"""How decode speed, time to first token and memory grow with the story's context.

A story is at most a couple of thousand tokens: its prompt and what has been
written so far. For Conteur's engine and wllama, each in one fresh browser
loaded once, we write 32 greedy tokens after a prompt of n − 32 tokens, for n
in 128, 512 and 2,048, so the context holds n tokens at the end. Per point:
time to first token, decode rate over the 32 tokens, and the browser's peak PSS
while that point ran (wasm heaps never shrink, so it also bounds what came
before).

Conteur runs here as its engine page (bench/pages/conteur-engine.html): the
real page caps a reader's text at about 1,000 tokens, and Python's share of a
step does not depend on the context. Load time does not depend on it either:
neither engine sizes anything by the context while it loads (wllama reserves
its 2,048-token cache up front, Conteur's cache grows token by token), so each
contender's load is reported once.

On paper (docs/facts/model.md has the model's shape): the CPU graph keeps the KV
cache in float16 (since export 2026.12-7; float32 before), 18 layers × key and
value × 1 head × 256 × 2 bytes = 18,432 bytes a token, which the runner copies into
onnxruntime's heap at every step (since export 2026.12-9 only the step's own rows come
back out). Since export 2026.12-8 its 15 sliding layers keep only the last 511
positions, so past 512 tokens only the 3 global layers' share (3,072 bytes a token)
grows.
"""

from __future__ import annotations

import html
import shutil
import statistics
import tempfile
from pathlib import Path

from bench import contenders as cs
from bench.browser import TrialSettings, launch
from bench.memory import MemorySampler
from bench.prompts import make_prompts

CONTEXTS = (128, 512, 2048)
DECODE_TOKENS = 32
CONTENDERS = ("conteur-engine", "wllama")
LAYER_BYTES_PER_TOKEN = 2 * 1 * 256 * 2  # (key, value) × kv heads × head dim × float16
# Gemma 3 270M's layers, and the positions a sliding layer keeps (export 2026.12-8).
GLOBAL_LAYERS, SLIDING_LAYERS, WINDOW_HELD = 3, 15, 511
MB = 1_000_000


def scaling_prompts(tokenizer_model: Path):
    """The warm-up prompt, then one prompt per context: n − DECODE_TOKENS tokens."""
    lengths = (16, *(n - DECODE_TOKENS for n in CONTEXTS))
    warmup, *prompts = make_prompts(tokenizer_model, lengths)
    return warmup, prompts


def run_scaling(playwright, settings: TrialSettings, tokenizer_model: Path) -> dict:
    """One browser per contender, loaded once, every context in turn (short first)."""
    warmup, prompts = scaling_prompts(tokenizer_model)
    result = {"contexts": list(CONTEXTS), "decode_tokens": DECODE_TOKENS, "contenders": {}}
    for key in CONTENDERS:
        contender = cs.CONTENDERS[key]
        settings.log(f"bench: scaling, {contender.label}: contexts {', '.join(map(str, CONTEXTS))}")
        try:
            result["contenders"][key] = _one_contender(
                playwright, contender, settings, warmup, prompts
            )
        except Exception as exc:  # noqa: BLE001 (a failing contender is reported, the bench goes on)
            result["contenders"][key] = {
                "label": contender.label,
                "error": f"{type(exc).__name__}: {exc}"[:500],
            }
    return result


def _one_contender(playwright, contender, settings: TrialSettings, warmup, prompts) -> dict:
    profile = Path(tempfile.mkdtemp(prefix="conteur-bench-scaling-"))
    sampler = MemorySampler(marker=str(profile)).start()
    context = None
    try:
        context = launch(playwright, profile)
        driver = contender.driver(settings)
        page = context.new_page()
        driver.watch(page)
        sampler.phase = "load"
        page.goto(driver.url, wait_until="commit")
        load_ms = driver.wait_ready(page)["load_ms"]
        driver.run(page, warmup, 2)  # first-call costs, not reported
        points = []
        for n, prompt in zip(CONTEXTS, prompts, strict=True):
            sampler.phase = f"n{n}"
            run = driver.run(page, prompt, DECODE_TOKENS)
            points.append({
                "context": n,
                "prompt_tokens": run["prompt_tokens"],
                "generated": run["generated"],
                "ttft_s": run["ttft_ms"] / 1000,
                "decode_tokens_per_s": run.get("decode_tokens_per_s"),
            })  # fmt: skip
        page.close()
    finally:
        if context is not None:
            context.close()
        sampler.stop()
        shutil.rmtree(profile, ignore_errors=True)
    peaks = sampler.report()["phases"]
    for point in points:
        point["peak_pss_mb"] = peaks.get(f"n{point['context']}", {}).get("pss", 0) / MB
    return {
        "label": contender.label,
        "load_s": load_ms / 1000,
        "load_peak_pss_mb": peaks.get("load", {}).get("pss", 0) / MB,
        "points": points,
    }


# --- the report ---------------------------------------------------------------------------


def _num(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def scaling_rows(scaling: dict) -> list[str]:
    """One row per contender and context: the measured figures."""
    header = "| contender | context (tokens) | time to first token (s) | decode (tokens/s) |"
    rows = [header + " peak PSS (MB) |", "|---|---|---|---|---|"]
    for entry in scaling.get("contenders", {}).values():
        if entry.get("error"):
            rows.append(f"| {entry['label']} | failed: {entry['error'][:200]} | | | |")
            continue
        for p in entry["points"]:
            rows.append(
                f"| {entry['label']} | {p['context']:,} | {_num(p['ttft_s'], 2)} "
                f"| {_num(p['decode_tokens_per_s'], 2)} | {_num(p['peak_pss_mb'], 0)} |"
            )
    return rows


def growth(entry: dict, field: str) -> float | None:
    """The last context's figure over the first's (how much it grew)."""
    points = entry.get("points") or []
    if len(points) < 2 or not points[0].get(field) or points[-1].get(field) is None:
        return None
    return points[-1][field] / points[0][field]


def scaling_notes(scaling: dict) -> list[str]:
    """What the table says, in words, from the figures."""
    entries = {k: e for k, e in scaling.get("contenders", {}).items() if not e.get("error")}
    first, last = CONTEXTS[0], CONTEXTS[-1]
    notes = []
    for entry in entries.values():
        decode = growth(entry, "decode_tokens_per_s")
        memory = [p["peak_pss_mb"] for p in entry["points"]]
        if decode is not None:
            notes.append(
                f"- {entry['label']}: decode at {last:,} tokens of context is "
                f"×{decode:.2f} its rate at {first}; peak PSS {memory[0]:,.0f} → "
                f"{memory[-1]:,.0f} MB ({memory[-1] - memory[0]:+,.0f} MB); loaded in "
                f"{entry['load_s']:.1f} s, which no context changes."
            )
    if {"conteur-engine", "wllama"} <= entries.keys():
        ours, peer = entries["conteur-engine"]["points"], entries["wllama"]["points"]
        ratios = [
            o["decode_tokens_per_s"] / p["decode_tokens_per_s"]
            for o, p in zip(ours, peer, strict=True)
            if o.get("decode_tokens_per_s") and p.get("decode_tokens_per_s")
        ]
        if ratios:
            spread = " → ".join(f"×{r:.2f}" for r in ratios)
            notes.append(
                f"- Conteur's engine vs wllama, decode, context {first} → {last:,}: {spread} "
                f"(median ×{statistics.median(ratios):.2f})."
            )
    kv = {n: kv_cache_bytes(n) / MB for n in CONTEXTS}
    whole = last * (GLOBAL_LAYERS + SLIDING_LAYERS) * LAYER_BYTES_PER_TOKEN / MB
    notes.append(
        "- On paper, Conteur's KV cache (float16 since export 2026.12-7; the 15 sliding "
        "layers keep their last 511 positions since 2026.12-8): "
        + ", ".join(f"{kv[n]:.1f} MB at {n:,}" for n in CONTEXTS)
        + f" (every position of every layer: {whole:.1f} MB at {last:,}); the runner copies "
        f"it into onnxruntime's heap at every step, {kv[last]:.1f} MB at {last:,} tokens "
        "besides the weights, and since export 2026.12-9 only the step's own rows come back."
    )
    return notes


def kv_cache_bytes(context: int) -> int:
    """The CPU graph's KV cache at `context` tokens: global layers hold every position,
    sliding ones at most WINDOW_HELD."""
    held = GLOBAL_LAYERS * context + SLIDING_LAYERS * min(context, WINDOW_HELD)
    return held * LAYER_BYTES_PER_TOKEN


def scaling_section(results: dict) -> list[str]:
    """The markdown section, with its chart (scaling.png)."""
    scaling = results.get("scaling")
    if not scaling or not scaling.get("contenders"):
        return []
    return [
        "## How it grows with the story's context",
        "",
        (
            f"Each engine in one fresh browser, loaded once; then for each context n a "
            f"prompt of n − {scaling['decode_tokens']} tokens and "
            f"{scaling['decode_tokens']} greedy tokens, so the context holds n tokens at "
            "the end (one repetition). Conteur runs as its engine page (no Python: the real "
            "page caps a reader's text near 1,000 tokens, and Python's share of a step does "
            "not grow with the context). Peak PSS: the browser's process tree while that "
            "context ran."
        ),
        "",
        "![Decode rate, time to first token and peak memory against the context](scaling.png)",
        "",
        *scaling_rows(scaling),
        "",
        *scaling_notes(scaling),
        "",
    ]


# --- the chart ------------------------------------------------------------------------------

PANELS = [
    ("decode_tokens_per_s", "decode (tokens/s, ↑)"),
    ("ttft_s", "time to first token (s, ↓)"),
    ("peak_pss_mb", "peak PSS (MB, ↓)"),
]
COLOURS = {"conteur-engine": "#1f77b4", "wllama": "#d62728"}
PANEL_W, PANEL_H, PAD, TOP = 330, 250, 50, 80


def scaling_svg(scaling: dict, subtitle: str) -> str:
    """Three small line charts side by side, one per figure, the contexts along x."""
    entries = {k: e for k, e in scaling.get("contenders", {}).items() if not e.get("error")}
    width = PAD + len(PANELS) * (PANEL_W + PAD)
    height = TOP + PANEL_H + 85
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            'font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>'
        ),
        (
            '<text x="20" y="28" font-size="18" font-weight="bold">How decode, first token '
            "and memory grow with the story's context</text>"
        ),
        f'<text x="20" y="50" font-size="12" fill="#555">{html.escape(subtitle)}</text>',
    ]
    for index, (field, title) in enumerate(PANELS):
        left = PAD + index * (PANEL_W + PAD)
        out += _panel(left, field, title, entries, scaling["contexts"])
    for i, (key, entry) in enumerate(entries.items()):
        colour, x = COLOURS.get(key, "#333"), PAD + i * 300
        out.append(f'<rect x="{x}" y="{height - 24}" width="14" height="10" fill="{colour}"/>')
        out.append(
            f'<text x="{x + 20}" y="{height - 14}" font-size="12">'
            f"{html.escape(entry['label'])}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def _panel(left: float, field: str, title: str, entries: dict, contexts: list[int]) -> list[str]:
    """One figure against the context: a frame, the x labels, one line per contender."""
    values = [p[field] for e in entries.values() for p in e["points"] if p.get(field)]
    high = max(values, default=1.0) * 1.15

    def x(n: int) -> float:
        return left + (contexts.index(n) + 0.5) / len(contexts) * PANEL_W

    def y(value: float) -> float:
        return TOP + PANEL_H - value / high * PANEL_H

    out = [
        f'<rect x="{left}" y="{TOP}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#999"/>',
        f'<text x="{left}" y="{TOP - 8}" font-size="13">{html.escape(title)}</text>',
        (
            f'<text x="{left + PANEL_W / 2}" y="{TOP + PANEL_H + 36}" font-size="11" '
            'text-anchor="middle" fill="#555">context (tokens)</text>'
        ),
    ]
    for n in contexts:
        out.append(
            f'<text x="{x(n):.1f}" y="{TOP + PANEL_H + 18}" font-size="11" '
            f'text-anchor="middle">{n:,}</text>'
        )
    for key, entry in entries.items():
        colour = COLOURS.get(key, "#333")
        points = [(x(p["context"]), y(p[field]), p[field]) for p in entry["points"] if p.get(field)]
        line = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
        out.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for px, py, value in points:
            label = f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}"/>')
            out.append(
                f'<text x="{px + 5:.1f}" y="{py - 6:.1f}" font-size="11" fill="{colour}">'
                f"{label}</text>"
            )
    return out
