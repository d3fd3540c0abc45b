"""The prose of RESULTS.md that depends on the numbers: headline, analysis, limits.

Every sentence here is computed from results.json, so a rerun on another
machine (or after the exporter changes) says what that run measured.
"""

from __future__ import annotations

from bench.stats import METRIC_BY_KEY

HEADLINE_METRICS = ["decode", "ttft_128_s", "ttft_512_s", "cold_load_s", "warm_load_s", "download_mb", "peak_pss_mb"]  # fmt: skip


def _words(metric_key: str, r: dict, peer: str) -> str:
    better = "smaller" if METRIC_BY_KEY[metric_key].unit == "MB" else "faster"
    ratio = r["median"]
    if 0.95 <= ratio <= 1.05:
        return f"×{ratio:.2f} (even)"
    if r["min"] < 1 < r["max"]:
        return f"×{ratio:.2f} (mixed: the pairs fall on both sides of ×1)"
    if ratio >= 1:
        return f"×{ratio:.2f} (Conteur {better})"
    return f"×{ratio:.2f} ({peer} ×{1 / ratio:.1f} {better})"


def headline(results: dict) -> list[str]:
    """One line per peer: Conteur's advantage on the metrics a user feels."""
    pairs = [p for p in results["pairs"] if p["ours"] == "conteur"] or results["pairs"][:]
    if not pairs:
        return []
    lines = [
        "**In short** (Conteur's advantage, median of the pair-by-pair ratios; ×1 = even):",
        "",
    ]
    for pair in pairs:
        parts = []
        for key in HEADLINE_METRICS:
            ratio = pair["ratios"].get(key)
            if ratio is not None:
                parts.append(
                    f"{METRIC_BY_KEY[key].label.lower()} {_words(key, ratio, pair['peer_label'].split(' (')[0])}"
                )
        if parts:
            lines.append(
                f"- {pair['ours_label']} vs {pair['peer_label']}: " + "; ".join(parts) + "."
            )
    return lines


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _ns_per_weight(profile: dict) -> dict[str, float]:
    weights = profile.get("matmul_weights", {})
    return {
        role: ms * 1e6 / weights[role]
        for role, ms in profile["matmul_by_role_ms"].items()
        if weights.get(role)
    }


def analysis_notes(results: dict) -> list[str]:
    profile = results.get("profile") or {}
    browser, native = profile.get("browser"), profile.get("native")
    notes = ["### Reading it", ""]
    main = browser or native
    if main:
        total = sum(main["by_op_ms"].values()) or 1
        kernels = [op for op in ("MatMulInteger", "MatMulNBits") if op in main["by_op_ms"]]
        matmul = sum(main["by_op_ms"][op] for op in kernels)
        where = "in the browser" if browser else "natively"
        notes.append(
            f"- {where.capitalize()}, the matrix products ({', '.join(kernels) or 'none'}) take "
            f"{100 * matmul / total:.0f} % of a decode step; the rest is the small ops around "
            "them (rounding each input per token, scales, casts, reshapes), attention and norms."
        )
    if browser and native:
        wasm, cpu = _ns_per_weight(browser), _ns_per_weight(native)
        common = [r for r in wasm if r in cpu and cpu[r] > 0]
        if common:
            slower = _median([wasm[r] / cpu[r] for r in common])
            notes.append(
                f"- The same kernels are ×{slower:.0f} slower per weight in onnxruntime-web's "
                f"wasm build than in native onnxruntime on this machine (median over matrix "
                f"kinds: {_median([wasm[r] for r in common]):.2f} ns against "
                f"{_median([cpu[r] for r in common]):.2f} ns per weight): wasm SIMD128 "
                "against native AVX2/AVX-512 integer kernels, and more: onnxruntime-web's "
                "wasm integer GEMM has no packed-weight path (the wasm SIMD dispatch in "
                "onnxruntime's MLAS sets neither a packed operation nor a routine to pack "
                "the weights once), so every MatMulInteger call first converts its whole "
                "int8 weight matrix to interleaved int16, 152.6 M weights at every decode "
                "step, before it multiplies; native onnxruntime packs them once when the "
                "session opens. Decoding ×2 wllama in the browser would take weights kept "
                "packed, which only a kernel of Conteur's own or another onnxruntime-web "
                "build would give: a wasm SIMD kernel written for the CPU graph's layout "
                "ran a step's 152.8 MB of matrix products in 22 ms on one thread and "
                "14 ms on two, with a barrier after every product (docs/export.md)."
            )
        head = [r for r in browser["matmul_by_role_ms"] if r.startswith("head")]
        head_ms = sum(browser["matmul_by_role_ms"][r] for r in head)
        head_rows = sum(browser.get("matmul_weights", {}).get(r, 0) for r in head) // 640
        if head_ms:
            notes.append(
                f"- The output head ({head_rows:,} rows) alone costs {head_ms:.0f} ms of the "
                f"{browser['step_ms_median']:.0f} ms step: {100 * head_ms / browser['step_ms_median']:.0f} %."
            )
        pre = browser.get("prefill") or {}
        if pre.get("step_ms_median"):
            per_token = pre["step_ms_median"] / pre["tokens"]
            calls = pre["step_ms_median"] / browser["step_ms_median"]
            notes.append(
                f"- In wasm the matrices cost per call more than per row: the {pre['tokens']}-token "
                f"prompt took {pre['step_ms_median']:.0f} ms, only ×{calls:.1f} one decode step "
                f"({per_token:.0f} ms per prompt token against {browser['step_ms_median']:.0f} ms "
                "per generated token): a prompt reads each weight once for many tokens, which "
                "is why Conteur's time to first token holds up better than its decode rate."
            )
    notes += _what_if_notes(results)
    notes += _peer_notes(results)
    notes += (
        ["", "### What would close the gap", ""] + _load_cpu_notes(results) + _suggestions(results)
    )
    return notes


def _median_cpu(results: dict, contender: str, figure: str = "total_s") -> float | None:
    """Median over `contender`'s first visits of one figure of bench/load_cpu.py: a key
    of its result ("total_s", "busy_cores") or a thread group's CPU seconds."""
    values = []
    for t in results.get("trials", []):
        cpu = (t.get("cold") or {}).get("cpu") if t["contender"] == contender else None
        if cpu and not t.get("error"):
            values.append(cpu[figure] if figure in cpu else cpu["groups"].get(figure, 0.0))
    return _median(values) if values else None


def _load_cpu_notes(results: dict) -> list[str]:
    """What a first visit's CPU time (bench/load_cpu.py) says about the cold load."""
    ours, peer = _median_cpu(results, "conteur"), _median_cpu(results, "wllama")
    if ours is None or peer is None:
        return []
    parts = {
        "the page's worker (Python's start, the files' pieces, the session)": "worker",
        "V8's pool (compiling Pyodide's and onnxruntime's wasm, garbage collection)": "background",
        "the service worker (hashing and storing the download)": "service_worker",
    }
    spent = ", ".join(
        f"{_median_cpu(results, 'conteur', key):.1f} s in {name}" for name, key in parts.items()
    )
    busy = [_median_cpu(results, key, "busy_cores") for key in ("conteur", "wllama")]
    cores = (results.get("machine") or {}).get("cores", "the")
    return [
        (
            f"- A first visit costs Conteur {ours:.1f} s of CPU against wllama's {peer:.1f} s "
            f"(the CPU table above): {spent}. On average they keep {busy[0]:.1f} and "
            f"{busy[1]:.1f} of the {cores} cores busy; starting work earlier was measured to "
            "move it rather than save it: onnxruntime's "
            "runtime started beside the download (re-measured 2026-12-05, 3 repetitions) "
            "opened the session 0.4 s sooner but made the files and Python's start 0.3-0.6 s "
            "later, and the page was ready no sooner (5.9 s against 5.8 s); the rest file "
            "left out of the first visit entirely gave 5.5 s against 5.6 s. What shortens "
            "it is less work: since 2026-12-06 Python starts from a snapshot the build makes "
            "(web/python_start.py), on the first visit too, paid for in the download by the "
            "runtimes' gzip copies (the page alone, 4 alternated pairs: ready in 4.79 s "
            "against 5.87 s, docs/architecture.md), and the service worker checks large "
            "files block by block with the browser's own SHA-256 (about 1,100 MB/s here "
            "against hash-wasm's 445; the page alone, 5 alternated pairs: its CPU 1.09 s "
            "against 1.47 s, ready in 5.13 s against 5.60 s); since 2026-12-07 that "
            "snapshot holds pyshell imported and the tokenizer loaded, which every visit "
            "did after Python's start (the page alone, 4 alternated pairs on a busier "
            "machine: first visit ready in 6.56 s against 7.35 s, second visit 2.27 s "
            "against 2.93 s, every pair sooner); left are compiling Pyodide's "
            "and onnxruntime's wasm, storing the download, and the session's copy of the "
            "weights into onnxruntime's heap. V8's pool is mostly its optimizing compiler "
            "(one cold visit traced, 2026-12-06: 2.0 s of TurboFan over 2.3 s of wasm "
            "compiling; Pyodide's module 1.5 s in 313 compiles, one 79 KB function of it "
            "compiled five times over, 0.76 s; onnxruntime's 0.58 s in 139), which the "
            "page cannot steer; a second visit finds that code in Chromium's cache."
        )
    ]


def _speedups(what_if: dict) -> dict[str, float]:
    base = (what_if.get("as exported") or {}).get("ms_per_token_median")
    if not base:
        return {}
    return {
        name: base / v["ms_per_token_median"]
        for name, v in what_if.items()
        if name != "as exported" and v.get("ms_per_token_median")
    }


def _clear_win(what_if: dict, name: str) -> bool:
    """Faster in every round than the export was in any: beyond this machine's drift."""
    base, v = what_if.get("as exported") or {}, what_if.get(name) or {}
    return (
        bool(base.get("ms_per_token_min"))
        and v.get("ms_per_token_max", 1e18) < base["ms_per_token_min"]
    )


def _what_if_notes(results: dict) -> list[str]:
    what_if = (results.get("profile") or {}).get("what_if") or {}
    out = []
    base_tokens = (what_if.get("as exported") or {}).get("tokens")
    for name, speed in _speedups(what_if).items():
        same = what_if[name].get("tokens") == base_tokens
        verdict = (
            "a clear difference (every round beyond the export's range)"
            if _clear_win(what_if, name)
            else "within this machine's drift (the rounds overlap)"
        )
        text = f"- What-if, {name}: ×{speed:.2f} the decode speed, {verdict}"
        if not same:
            text += "; different greedy tokens, so its accuracy must be checked"
        if "thread" in name and speed > 1:
            load = results["machine"].get("load_average_end") or ["?"]
            text += (
                f". One thread beating two is a symptom of the shared machine (load average "
                f"{load[0]} on {results['machine']['cores']} cores): with more runnable "
                "threads than cores, onnxruntime's two threads wait on each other at every "
                "op. It is not advice for users' idle machines, where the page's min(cores, 4) "
                "threads apply"
            )
        out.append(text + ".")
    return out


def _peer_notes(results: dict) -> list[str]:
    out = []
    summary = results["summary"]
    native = (summary.get("llama.cpp") or {}).get("decode")
    wasm = (summary.get("wllama") or {}).get("decode")
    if native and wasm and native["median"] < wasm["median"]:
        out.append(
            f"- llama.cpp native decoded slower ({native['median']:.2f} tokens/s) than its own "
            f"wasm build ({wasm['median']:.2f}): its worker threads spin-wait at every op, "
            "which collapses when other processes hold the cores, as they did during this "
            "run. Its figures here understate the CPU ceiling; docs/facts/model.md records 43–55 "
            "tokens/s decode and 185–300 tokens/s prefill on this machine when quiet."
        )
    for key, info in results["contenders"].items():
        again = (summary.get(key) or {}).get("download_again_mb")
        first = (summary.get(key) or {}).get("download_mb")
        if again and first and again["median"] > 0.5 * first["median"]:
            out.append(
                f"- {info['label']} downloaded {again['median']:.0f} MB again on the second "
                "visit: its cache did not keep the weights. transformers.js stores files in "
                "the Cache API, and in this Chromium storing its 729 MB weights file fails "
                '(it logs "Unable to add response to browser cache"), so every visit '
                "fetches them again: cheap from localhost, slow on a real connection, and "
                "no offline use."
                if key == "transformers"
                else f"- {info['label']} downloaded {again['median']:.0f} MB again on the "
                "second visit: its cache did not keep the weights."
            )
    tjs = summary.get("transformers") or {}
    if tjs.get("download_mb"):
        out.append(
            f"- transformers.js downloads {tjs['download_mb']['median']:.0f} MB: its q4 layout "
            "keeps the 262,144 × 640 embedding and head in float32 (671 MB), reads all of it "
            "for every token, and returns logits for every prompt position (a 512-token "
            "prompt makes a 537 MB logits tensor)."
        )
    return out


def _suggestions(results: dict) -> list[str]:
    profile = results.get("profile") or {}
    out = []
    what_if = profile.get("what_if") or {}
    speedups = _speedups(what_if)
    for name, speed in speedups.items():
        same = what_if[name].get("tokens") == (what_if.get("as exported") or {}).get("tokens")
        if speed > 1.15 and same and "thread" not in name and _clear_win(what_if, name):
            out.append(f"- {name}: measured ×{speed:.2f} faster decoding above, same tokens.")
    out.append(
        "- Most Cast time is the CPU graph's float64 detours (export/graphs/exact_ops.py: "
        "RMSNorm, attention and gelu in float64, so x86 and wasm give the same bits): "
        "about 30 small casts a layer, each mostly per-op overhead in wasm. Fusing q/k/v "
        "and gate/up into one MatMulInteger each drops 10 ops a layer but was measured "
        "×0.86-0.90 the decode speed (wider matrices run slower per weight; docs/export.md)."
    )
    out.append(
        "- The second visit opens 5 s after the first tab closed (until 2026-12-03, 0.5 s). "
        "Chromium loads it in the renderer process of the first, which lets the closed "
        "page's memory go 2.1-2.6 s after the close; until then the new page also started "
        "faster, presumably from what the old one still held (its compiled wasm; not "
        "isolated). Conteur's page, 4 alternated pairs (2026-12-03): opened 0.5 s after "
        "the close, the second visit was ready in 2.5-2.7 s and peaked at 1,252-1,517 MB; "
        "opened 5 s after, 3.1-3.2 s and 1,063-1,148 MB. The earlier figures thus flattered "
        "Conteur's warm load and overstated its second-visit memory; a reader coming back "
        "meets the second pair."
    )
    out.append(
        "- On a return visit the page starts the model's worker once the service worker's "
        "register() resolves, which queues behind the browser's own check for a new sw.js. "
        "Starting the worker first and registering beside it was measured (2026-12-06, 3 "
        "repetitions each, Conteur and wllama in alternation): warm load 2.3 s against 2.2 s "
        "before, navigation to the worker's start 0.4 s against 0.2 s: no gain where sw.js "
        "comes from this machine, so not kept."
    )
    out.append(
        "- Since 2026-12-06 a wasm module the service worker has not stored yet "
        "(onnxruntime's, which a first visit asks for when the session opens) is stored "
        "whole before it goes to the page, as the stored entry: Chromium keeps the code "
        "it compiles from a stored entry, so the second visit no longer compiles "
        "onnxruntime's module again. The page alone, 4 alternated pairs against the code "
        "before: second visit 1.81 s against 2.02 s (every pair sooner), first visit 5.78 "
        "against 5.69 s, the same peak memory (docs/architecture.md). Two first-visit "
        "changes were measured the same day and not kept: the graph's files read on a "
        "helper worker beside Python's start (ready 0.4 s sooner, but the peak PSS about "
        "100 MB higher) and the first service worker taking over before it keeps the "
        "core files (no sooner)."
    )
    out.append(
        "- Where the memory is at ready (a warm start, the page's renderer, its mappings, "
        "2026-12-03): onnxruntime's heap 272 MB reserved, 230 MB touched (the weights; no "
        "second copy), Pyodide's heap 82 MB, Chromium's code 41 MB, and about 205 MB of "
        "JavaScript heaps, compiled wasm and buffers; the rest of the browser 330-370 MB. "
        "A first visit's renderer held some 110 MB more at ready: the download's pieces "
        "waiting for the garbage collector. Since 2026-12-07 the worker reads a download "
        "into one reused buffer (js/worker/byte-pieces.js): the page alone, 7 alternated "
        "pairs, first-visit peak 958-989 MB (median 973) against 967-1,058 MB (median "
        "1,037). The data file's chunks are freed as onnxruntime "
        "copies them (js/worker/chunked-file.js), so download and heap overlap by at most "
        "34 MB; the service worker hands the page and the store one download in step "
        "(js/shared/lockstep-tee.js) instead of queueing it for the slower reader. "
        "Left: the peak while the session opens, and a first story's growth, which is V8 "
        "optimizing onnxruntime's Cast kernel (below)."
    )
    out.append(
        "- Pyodide's heap at ready went from 89.9 MB to 62.4 MB on 2026-12-05 (the worker's "
        "memory reply, first and second visit): a wasm heap keeps its high-water mark, and "
        "loading the tokenizer had made one 14 MB str of all 262,144 pieces (4 bytes a "
        "character, as a few lie beyond U+FFFF) and copies of it; it now reads the pieces "
        "file's bytes (docs/architecture.md, \"Python's heap is as large as its busiest "
        'moment"). Since export 2026.12-10 it is 45.4 MB: the pieces stay that byte string, '
        "with a piece-to-id table the export writes (pyshell/compact_pieces.py), instead of "
        "262,144 str objects and a dict."
    )
    out.append(
        "- Since export 2026.12-5 the CPU graph's int4 rows of the 180,224 tokens its head "
        "never writes (74 MB) are a file of their own (model-cpu.rest, pyshell/rest_rows.py), "
        "not part of onnxruntime's heap nor of the download the page holds on its way in; "
        "the page reads a prompt's rare tokens from the service worker's store, a 412-byte "
        "record each, with the same logits to the bit. The page's peak PSS, first visit / "
        "second visit / writing: 1,161 / 1,036 / 1,116 MB with export 2026.12-3 (run of "
        "2026-12-04 21:28 UTC); 993 / 965 / 1,071 MB (2026-12-05 02:19 UTC) and 1,049 / "
        "1,020 / 1,095 MB (03:53 UTC) since, the same code twice: between runs the machine "
        "drifts by some 50 MB, wllama's peaks too (writing 1,052 and 1,046 MB)."
    )
    out.append(
        "- Since export 2026.12-7 the CPU graph's KV cache is float16, and since 2026.12-8 "
        "its 15 sliding layers hand on only their last 511 positions (docs/export.md): every "
        "step copies half as many bytes in and out of onnxruntime's heap (9.4 MB each way at "
        "512 tokens), and past 512 tokens only the 3 global layers' share grows. The engine "
        "at a 2,048-token context (runs of 2026-12-05 03:53, 05:34 and 06:11 UTC): peak "
        "1,450 → 1,113 → 853 MB, decode 9.3 → 10.1 → 13.9 tokens/s, first token 14.0 → 14.5 "
        "→ 11.2 s; at 128-256 tokens decode 29.2 → 28.2 ms a token and at 512 41.8 → 39.7 "
        "with the float16 cache (engine page, 4 alternated rounds). The page's peaks at the "
        "bench's 512 tokens moved within the drift (writing 1,095 → 1,090 → 1,074 MB, wllama "
        "1,046 → 1,040 → 1,047), so the KV copies are not what sets them at this length; "
        "what does is the first story's compiling (next line)."
    )
    out.append(
        "- The writing peak is the first story's, and most of what it adds is V8's "
        "optimizing compiler (2026-12-07, docs/architecture.md): in a warm start's first "
        "story V8 recompiles function 6145 of onnxruntime-web's wasm, its Cast kernel for "
        "every type pair but float16↔float32 (a 490 KB function the CPU graph calls about "
        "570 times a step: its float64 detours, its integer products' sums and its 8-bit "
        "activations), in 2.1-2.8 s of a background "
        "thread with 107 MB of compiler memory at once. The same 128-token story four "
        "times over on three warm starts peaked at 1,002-1,012 MB the first time and "
        "870-902 MB the next three; the first story of a third visit, once Chromium had "
        "cached the optimized code, at 926-934 MB. No node but Cast turns float32 into "
        "float64 in onnxruntime-web, so only a graph without the float64 detours or a "
        "smaller Cast in another onnxruntime-web build would take it away."
    )
    out.append(
        "- On the CPU, onnxruntime-web copies the past_key_values into its heap at each "
        "step: 18 × 2 × n × 256 × 2 bytes at context n (4.7 MB at 256 tokens, float16; "
        "IO binding would remove it). Since export 2026.12-9 nothing that large comes "
        "back: the graph also hands out the step's own rows (new_key_values.*) and the "
        "page's runner keeps the cache itself (js/worker/kv-rows.js). The presents it "
        "fetched before were a new JavaScript array of the whole cache at every step, and "
        "the worker's garbage collector ran a full collection about every 20 tokens (6 "
        "in a 128-token story, Chromium's trace; none since). The page's decode on an idle "
        "machine went from 27-31 to 30-35 tokens/s (4 stories each; docs/export.md)."
    )
    out.append(
        "- On machines with a GPU, the page runs the WebGPU graph. Not measurable in this "
        "browser (no GPU); natively on a GPU machine ([GPU.md](GPU.md)) its step is some 680 "
        "small kernels, so dispatch rather than the GPU sets its decode rate."
    )
    return out


def limits(results: dict) -> list[str]:
    lines = ["## What could not be measured", ""]
    lines.append(
        "- WebGPU on a real GPU in the browser: this machine has no GPU, so all figures are "
        "CPU (WASM) figures; the WebGPU graph was measured natively on a GPU machine "
        "([GPU.md](GPU.md))."
    )
    for key, why in (results.get("skipped") or {}).items():
        lines.append(f"- {key}: {why}")
    lines.append(
        "- WebLLM: needs MLC-compiled weights that cannot be fetched here (docs/facts/peers.md): "
        "cited, not run."
    )
    lines.append("")
    return lines
