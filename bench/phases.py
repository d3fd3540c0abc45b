"""Where Conteur's load time and every contender's memory go, phase by phase.

The page reports its own load phases (`window.conteur.timings`, written by the
worker when it is ready): Python (Pyodide, pyshell and the tokenizer), the model
files, the onnxruntime session. Python and the files run side by side, so the
phases overlap; `total_s` is the worker's start to ready, `page_s` navigation
start to ready. The memory sampler keeps a peak per phase of a trial: the
browser before any page, the first visit, the second visit, the stories.
"""

from __future__ import annotations

from statistics import median

from bench.load_cpu import OTHER, THREAD_GROUPS

# (timings key, column title) in the order the page goes through them.
LOAD_PHASES = [
    ("python_s", "Python ready"),
    ("files_s", "model files in"),
    ("session_s", "onnxruntime session"),
    ("total_s", "worker: start → ready"),
    ("page_s", "page: navigation → ready"),
]
MEMORY_PHASES = [
    ("start", "browser, no page"),
    ("cold", "first visit"),
    ("warm", "second visit"),
    ("runs", "writing"),
]
MB = 1e6
# timings.python_from → how the note says it
PYTHON_STARTS = {"start": "afresh", "snapshot": "from the build's snapshot"}


def _median_cell(values: list[float], digits: int, scale: float = 1.0) -> str:
    values = [v / scale for v in values if v is not None]
    if not values:
        return "n/a"
    low, mid, high = min(values), median(values), max(values)
    if f"{low:,.{digits}f}" == f"{high:,.{digits}f}":
        return f"{mid:,.{digits}f}"
    return f"{mid:,.{digits}f} ({low:,.{digits}f}–{high:,.{digits}f})"


def load_rows(results: dict, contender: str = "conteur") -> list[str]:
    """One row per visit (first, second) of the page's load phases, beside each
    browser peer's whole load time."""
    trials = [t for t in results.get("trials", []) if not t.get("error")]
    ours = [t for t in trials if t["contender"] == contender]
    peers = [
        k
        for k in dict.fromkeys(t["contender"] for t in trials)
        if k != contender and k != "llama.cpp"
    ]
    labels = {k: results.get("contenders", {}).get(k, {}).get("label", k) for k in peers}
    header = [title for _, title in LOAD_PHASES] + [f"{labels[k]}: ready" for k in peers]
    lines = [
        "| visit | " + " | ".join(header) + " |",
        "|---|" + "---|" * len(header),
    ]
    for visit, timings_key, load_key in [
        ("first (empty profile)", "cold_timings", "cold"),
        ("second (cached)", "timings", "warm"),
    ]:
        cells = []
        for key, _ in LOAD_PHASES:
            values = [((t.get("detail") or {}).get(timings_key) or {}).get(key) for t in ours]
            cells.append(_median_cell(values, 1))
        for peer in peers:
            loads = [
                (t.get(load_key) or {}).get("load_ms") for t in trials if t["contender"] == peer
            ]
            cells.append(_median_cell(loads, 1, scale=1000))
        lines.append(f"| {visit} | " + " | ".join(cells) + " |")
    return lines


def python_start_note(results: dict, contender: str = "conteur") -> str | None:
    """How Python started on each visit (`timings.python_from`): afresh, or from the
    snapshot of its start the build made (web/python_start.py)."""
    ours = [
        t for t in results.get("trials", []) if not t.get("error") and t["contender"] == contender
    ]
    seen: dict[str, list[str]] = {}  # how it started → "n of m <visits>", visit by visit
    for visit, timings_key in [("first visits", "cold_timings"), ("second visits", "timings")]:
        starts = [((t.get("detail") or {}).get(timings_key) or {}).get("python_from") for t in ours]
        starts = [s for s in starts if s]
        for key, word in PYTHON_STARTS.items():
            if starts.count(key):
                seen.setdefault(word, []).append(f"{starts.count(key)} of {len(starts)} {visit}")
    if not seen:
        return None
    said = [f"{word} on {' and '.join(visits)}" for word, visits in seen.items()]
    return f"Python started {', and '.join(said)}."


def memory_rows(results: dict) -> list[str]:
    """Peak PSS (MB) of each contender's process tree in each phase of a trial."""
    trials = [t for t in results.get("trials", []) if not t.get("error") and t.get("memory")]
    order = list(dict.fromkeys(t["contender"] for t in trials))
    lines = [
        "| contender | " + " | ".join(title for _, title in MEMORY_PHASES) + " |",
        "|---|" + "---|" * len(MEMORY_PHASES),
    ]
    for key in order:
        label = results.get("contenders", {}).get(key, {}).get("label", key)
        mine = [t for t in trials if t["contender"] == key]
        cells = []
        for phase, _ in MEMORY_PHASES:
            peaks = [((t["memory"].get("phases") or {}).get(phase) or {}).get("pss") for t in mine]
            cells.append(_median_cell(peaks, 0, scale=MB))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def cpu_rows(results: dict) -> list[str]:
    """CPU seconds each contender's browser spent while loading, per visit and thread
    group (bench/load_cpu.py), with the cores it kept busy on average."""
    trials = [t for t in results.get("trials", []) if not t.get("error")]
    order = [k for k in dict.fromkeys(t["contender"] for t in trials) if k != "llama.cpp"]
    groups = [(key, title) for key, title, _ in THREAD_GROUPS] + [OTHER]
    header = ["load (s)", "CPU, all threads (s)", "cores busy"] + [title for _, title in groups]
    lines = [
        "| contender | visit | " + " | ".join(header) + " |",
        "|---|---|" + "---|" * len(header),
    ]
    for key in order:
        label = results.get("contenders", {}).get(key, {}).get("label", key)
        mine = [t for t in trials if t["contender"] == key]
        for visit, name in [("cold", "first"), ("warm", "second")]:
            cpus = [(t.get(visit) or {}).get("cpu") for t in mine]
            cpus = [c for c in cpus if c]
            if not cpus:
                continue
            loads = [(t.get(visit) or {}).get("load_ms") for t in mine]
            cells = [
                _median_cell(loads, 1, scale=1000),
                _median_cell([c["total_s"] for c in cpus], 1),
                _median_cell([c["busy_cores"] for c in cpus], 1),
                *(_median_cell([c["groups"].get(g, 0.0) for c in cpus], 1) for g, _ in groups),
            ]
            lines.append(f"| {label} | {name} | " + " | ".join(cells) + " |")
    return lines if len(lines) > 2 else []


def phases_section(results: dict) -> list[str]:
    """The markdown section: Conteur's load by phase, then memory by phase."""
    if not any(t["contender"] == "conteur" for t in results.get("trials", [])):
        return []
    return [
        "## Where the load time and the memory go",
        "",
        (
            "Conteur's page by phase, in seconds, as the page measures itself "
            "(`window.conteur.timings`), median (min–max) over the repetitions. Python "
            "(Pyodide, pyshell, the tokenizer) and the model files run side by side; the "
            "onnxruntime session opens once the files are in. Beside it, each browser "
            "peer's whole load, measured the same way as in the results."
        ),
        "",
        *load_rows(results),
        "",
        *([note, ""] if (note := python_start_note(results)) else []),
        (
            "Peak memory (PSS, MB) of each contender's process tree in each phase of a "
            "trial: the browser before any page, the first visit, the second visit (the "
            "first tab closed), writing."
        ),
        "",
        *memory_rows(results),
        "",
        *cpu_section(results),
    ]


def cpu_section(results: dict) -> list[str]:
    rows = cpu_rows(results)
    if not rows:
        return []
    cores = (results.get("machine") or {}).get("cores") or "these"
    return [
        (
            "CPU time while loading (s), from the navigation until the page is ready, summed "
            f"over the browser's threads (bench/load_cpu.py), median (min–max). On {cores} cores "
            f"a load that keeps {cores} busy can only get faster by doing less work."
        ),
        "",
        *rows,
        "",
    ]
