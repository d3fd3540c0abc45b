"""Write RESULTS.md from results.json: the machine, the tables, the analysis."""

from __future__ import annotations

from bench.browser import CLOSED_TAB_WAIT_S
from bench.phases import phases_section
from bench.scaling import scaling_section
from bench.stats import METRIC_BY_KEY, METRICS, Metric

TABLE_METRICS = [m.key for m in METRICS]


def _num(value: float | None, digits: int) -> str:
    if value is None:
        return "n/a"
    if abs(round(value, digits)) >= 1000:  # 999.6 shown with no digits is "1,000" too
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _cell(summary: dict | None, digits: int) -> str:
    if not summary:
        return "n/a"
    med, lo, hi = summary["median"], summary["min"], summary["max"]
    if summary["n"] == 1 or lo == hi:
        return _num(med, digits)
    return f"{_num(med, digits)} ({_num(lo, digits)}–{_num(hi, digits)})"


def _ratio_cell(summary: dict | None) -> str:
    if not summary:
        return "n/a"
    text = f"×{summary['median']:.2f}"
    if summary["n"] > 1:
        text += f" ({summary['min']:.2f}–{summary['max']:.2f}, {summary['n']} pairs)"
    return ("**" + text + "**") if summary["median"] >= 1 else text


def _metric_name(m: Metric) -> str:
    arrow = "↓" if m.better == "lower" else "↑"
    return f"{m.label} ({m.unit}, {arrow} better)"


def _model_line(model: dict | None) -> str:
    if not model:
        return "- Conteur's model: models/gemma-3-270m/ (no conteur.json found)"
    return (
        f"- Conteur's model: export {model['export_version']}; on WASM the CPU graph "
        f"(model-cpu.onnx: int8 layers, per-token int8 activations, an 81,920-token story "
        "shortlist head)"
    )


def machine_section(machine: dict) -> list[str]:
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v)
    return [
        "## Machine",
        "",
        (
            f"- CPU: {machine['cpu_model']}, {machine['cores']} cores (`/proc/cpuinfo`); "
            f"memory {machine['memory_gib']:.1f} GiB; {machine['os']}"
        ),
        f"- Browser: {machine['chromium']}, headless (`--headless=new`), WASM only",
        _model_line(machine.get("conteur_model")),
        (
            f"- Software: {packages}; Python {machine['python']}, "
            f"onnxruntime {machine['onnxruntime_python']} (profile)"
        ),
        (
            f"- Load average (1, 5, 15 min) at the start: {machine['load_average_start']}, "
            f"at the end: {machine.get('load_average_end')}. The machine was shared with other "
            "work while this ran: absolute figures drift, the pair-by-pair ratios are the result."
        ),
        (
            "- No GPU: this machine has none, so WebGPU on a real GPU is not measured here "
            "(Chromium's WebGPU here is SwiftShader, a CPU emulation: correctness only). Every "
            "contender below runs on the CPU. Conteur's WebGPU graph on a real GPU, natively "
            "(onnxruntime's WebGPU provider, no browser): [GPU.md](GPU.md)."
        ),
        "",
    ]


def protocol_section(results: dict) -> list[str]:
    s = results["settings"]
    prompts = ", ".join(f"{p['name']}: {p['tokens']} tokens" for p in s["prompts"])
    return [
        "## How it was measured",
        "",
        (
            f"- {s['reps']} repetitions, contenders in alternation within each repetition "
            f"({' → '.join(s['order'])}); every figure is the median, with min–max in "
            "parentheses; every ratio is taken pair by pair (repetition r of Conteur against "
            "repetition r of the peer), then its median."
        ),
        (
            "- One trial = a fresh Chromium with an empty profile: first visit (cold load, bytes "
            "the server sent, including what a service worker precaches after the page is "
            f"usable), then the page again in a new tab opened {CLOSED_TAB_WAIT_S:g} s after "
            "the first one closed, once Chromium let the closed page's memory go (warm load, "
            "from the page's own cache: service worker, Cache API or OPFS), then in that tab "
            "a warm-up (16 tokens in, 2 out, not reported), "
            f"the short prompt followed by {s['decode_tokens']} greedy tokens, and the long "
            "prompt (time to first token only)."
        ),
        (
            "- Load time: from navigation start until the first story can start (model loaded, "
            "runtime ready). Time to first token: from the generation call to the first new "
            "token (tokenization included for peers that take text); prefill rate = prompt "
            "tokens ÷ time to first token. Decode rate: tokens after the first ÷ the time "
            "from the first to the last."
        ),
        (
            "- Memory: the browser's whole process tree sampled every 0.2 s from /proc; PSS "
            "(shared pages split between processes) and the plain RSS sum. Reading PSS costs "
            "CPU (about 25 ms a sample here): it lowered the decode rate of both Conteur's "
            "page and wllama by 8-10 % (2026-12-05, 3 stories each with and without it: "
            "31.6-35.3 against 29.2-31.6 tokens/s, and 19.5-20.4 against 18.0-18.5), and by "
            "12.7 % and 10.6 % on 2026-12-07 (3 stories each, in medians: 24.6 against 21.5 "
            "tokens/s, 11.0 against 9.8): nearly the same share, so the decode ratio is at "
            "most about 2 % low, and the absolute rates are a little low."
        ),
        (
            "- CPU while loading: every thread's CPU time in /proc, read just before the "
            "navigation and once the page is ready (bench/load_cpu.py)."
        ),
        (
            f"- Prompts: the same story opening cut to {prompts} (BOS included), the same "
            "token ids for every contender; greedy decoding everywhere (no repetition "
            "penalty), all contenders on all cores as WASM threads."
        ),
        "",
    ]


def contenders_section(results: dict) -> list[str]:
    lines = ["## Contenders", ""]
    for key in results["settings"]["order"]:
        info = results["contenders"].get(key, {})
        detail = info.get("detail") or {}
        runtime = detail.get("runtime", "")
        threads = detail.get("threads")
        extra = f", {threads} threads" if threads else ""
        lines.append(f"- **{info.get('label', key)}**: {info.get('about', '')} ({runtime}{extra})")
    for key, why in results.get("skipped", {}).items():
        lines.append(f"- *{key}*: not measured: {why}")
    lines.append("")
    return lines


def results_table(results: dict) -> list[str]:
    order = results["settings"]["order"]
    labels = [results["contenders"][k]["label"] for k in order]
    lines = [
        "## Results",
        "",
        "Median (min–max) over the repetitions.",
        "",
        "| Metric | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for key in TABLE_METRICS:
        m = METRIC_BY_KEY[key]
        cells = [_cell(results["summary"].get(k, {}).get(key), m.digits) for k in order]
        lines.append(f"| {_metric_name(m)} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def ratio_table(results: dict) -> list[str]:
    pairs = results["pairs"]
    if not pairs:
        return []
    heads = [f"{p['ours_label']} vs {p['peer_label']}" for p in pairs]
    lines = [
        "## Conteur's advantage, pair by pair",
        "",
        (
            "Above ×1 Conteur did better (faster, smaller); below ×1 the peer did. "
            "Median of the per-repetition ratios (min–max, pairs); bold where Conteur won "
            "the median. Where min and max fall on both sides of ×1, the machine's drift "
            "was larger than the difference."
        ),
        "",
        "| Metric | " + " | ".join(heads) + " |",
        "|---|" + "---|" * len(heads),
    ]
    for key in TABLE_METRICS:
        m = METRIC_BY_KEY[key]
        if not any(p["ratios"].get(key) for p in pairs):
            continue
        cells = [_ratio_cell(p["ratios"].get(key)) for p in pairs]
        lines.append(f"| {m.label} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def outputs_section(results: dict) -> list[str]:
    lines = [
        "## Sanity: what each contender wrote",
        "",
        (
            "Greedy continuation of the 128-token prompt (first repetition). Different "
            "quantizations of the same weights diverge after a few tokens; the text must "
            "still read as a continuation."
        ),
        "",
    ]
    for key in results["settings"]["order"]:
        text = results["contenders"].get(key, {}).get("sample")
        if text:
            short = " ".join(text.split())[:220]
            lines.append(f"- {results['contenders'][key]['label']}: “{short}…”")
    errors = [t for t in results["trials"] if t.get("error")]
    if errors:
        lines += ["", "Failed trials:", ""]
        for t in errors:
            lines.append(f"- {t['contender']} repetition {t['rep']}: `{t['error'][:300]}`")
    lines.append("")
    return lines


def _per_weight(ms: float | None, weights: int | None) -> str:
    return f"{ms * 1e6 / weights:.2f}" if ms and weights else "n/a"


def analysis_section(results: dict) -> list[str]:
    profile = results.get("profile")
    if not profile:
        return []
    native, browser = profile.get("native"), profile.get("browser")
    lines = ["## Where Conteur loses time", ""]
    if browser:
        lines.append(
            f"onnxruntime's profiler on the exported model, one decode step after the "
            f"{browser['prefill']['tokens']}-token prompt (mean of {browser['runs']} steps): in "
            f"the browser ({browser['runtime']}, {browser['threads']} threads, the engine "
            f"page, no Python) a step took {browser['step_ms_median']:.0f} ms (median); "
            f"natively (CPython onnxruntime {results['machine']['onnxruntime_python']}, "
            f"{native['threads']} threads, same graph, same run) {native['step_ms_median']:.1f} ms."
        )
    elif native:
        lines.append(
            f"onnxruntime's profiler (CPython, {native['threads']} threads) on the exported model: "
            f"a decode step took {native['step_ms_median']:.1f} ms. The browser profile failed: "
            f"{profile.get('browser_error')}."
        )
    lines += ["", "| Op | browser ms per step | share | native ms per step |", "|---|---|---|---|"]
    main = browser or native
    total = sum(main["by_op_ms"].values()) or 1
    for op, ms in list(main["by_op_ms"].items())[:8]:
        other = native["by_op_ms"].get(op) if browser else None
        lines.append(
            f"| {op} | {ms:.1f} | {100 * ms / total:.1f} % | {_num(other, 2) if browser else ''} |"
        )
    weights = main.get("matmul_weights", {})
    lines += [
        "",
        (
            "Matrix products by matrix, all 18 layers together (the graph WASM runs: int8 "
            "MatMulInteger, the story-shortlist head):"
        ),
        "",
        (
            "| Matrices | weights (M) | browser ms per step | ns per weight | native ms | "
            "native ns per weight |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for role, ms in main["matmul_by_role_ms"].items():
        n = weights.get(role)
        native_ms = native["matmul_by_role_ms"].get(role) if browser else None
        lines.append(
            f"| {role} | {n / 1e6:.1f} | {ms:.1f} | {_per_weight(ms, n)} | "
            f"{_num(native_ms, 2)} | {_per_weight(native_ms, n)} |"
        )
    what_if = profile.get("what_if")
    if what_if:
        w = profile["what_if_settings"]
        base = what_if.get("as exported", {})
        lines += [
            "",
            (
                "What would change it: the engine page with one thing changed, timed in "
                f"alternation ({w['rounds']} rounds, a {w['prompt_tokens']}-token prompt then "
                f"{w['steps']} decode steps; median of the per-round medians):"
            ),
            "",
            "| Variant | decode ms per token (min–max) | speed vs as exported (>1: faster) | same greedy tokens |",
            "|---|---|---|---|",
        ]
        for name, v in what_if.items():
            if "error" in v:
                lines.append(f"| {name} | failed: {v['error'][:120]} | | |")
                continue
            speed = (
                f"×{base['ms_per_token_median'] / v['ms_per_token_median']:.2f}"
                if base.get("ms_per_token_median")
                else "n/a"
            )
            same = "yes" if v["tokens"] == base.get("tokens") else "no"
            lines.append(
                f"| {name} | {v['ms_per_token_median']:.0f} ({v['ms_per_token_min']:.0f}–"
                f"{v['ms_per_token_max']:.0f}) | {speed} | {same} |"
            )
    notes = results.get("analysis_notes") or []
    if notes:
        lines += [""] + notes
    lines.append("")
    return lines


def speed_check_section(results: dict) -> list[str]:
    """The page's own speed check (Advanced settings), one line per trial."""
    checks = [
        t["detail"]["speed_check"]
        for t in results.get("trials", [])
        if (t.get("detail") or {}).get("speed_check")
    ]
    if not checks:
        return []
    lines = [
        "## The page's own speed check",
        "",
        (
            "What a reader's Advanced settings → Measure speed shows on this machine "
            f"({checks[0]['prefill_tokens']}-token prompt, {checks[0]['decode_tokens']} "
            "tokens), one JSON line per repetition; readers send us the same line from their GPUs."
        ),
        "",
        "| backend | adapter | prefill tokens/s | decode tokens/s |",
        "|---|---|---|---|",
    ]
    for c in checks:
        lines.append(
            f"| {c['backend']} | {c['adapter']} | {c['prefill_tokens_per_second']} "
            f"| {c['decode_tokens_per_second']} |"
        )
    return lines + [""]


def write_results_md(results: dict) -> str:
    lines = [
        "# Conteur against the peers a user would pick instead",
        "",
        (
            "Generated by `./conteur bench` (`python -m bench`) on "
            f"{results['finished_at']}, in {results['duration_s'] / 60:.1f} minutes. "
            "Raw data: [results.json](results.json). Chart: [chart.png](chart.png)."
        ),
        "",
        "![Conteur's advantage over each peer, pair by pair](chart.png)",
        "",
    ]
    headline = results.get("headline") or []
    if headline:
        lines += headline + [""]
    lines += machine_section(results["machine"])
    lines += contenders_section(results)
    lines += protocol_section(results)
    lines += results_table(results)
    lines += ratio_table(results)
    lines += outputs_section(results)
    lines += phases_section(results)
    lines += scaling_section(results)
    lines += speed_check_section(results)
    lines += analysis_section(results)
    lines += results.get("limits") or []
    return "\n".join(lines).rstrip() + "\n"
