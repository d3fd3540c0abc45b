"""bench/phases.py: the load and memory breakdown RESULTS.md shows, from a results.json."""

from __future__ import annotations

from bench.phases import load_rows, memory_rows, phases_section, python_start_note

MB = 1_000_000


def trial(contender: str, rep: int, cold_s: float, warm_s: float, pss_mb: dict) -> dict:
    memory = {"phases": {phase: {"pss": mb * MB} for phase, mb in pss_mb.items()}}
    return {
        "contender": contender,
        "rep": rep,
        "cold": {"load_ms": cold_s * 1000},
        "warm": {"load_ms": warm_s * 1000},
        "memory": memory,
        "detail": {},
        "error": None,
    }


def results() -> dict:
    trials = []
    for rep, files in [(1, 3.0), (2, 4.0), (3, 5.0)]:
        ours = trial("conteur", rep, 11.0, 6.0, {"start": 250, "cold": 1100 + rep, "warm": 1200})
        warm_start = "snapshot" if rep < 3 else "start"  # a snapshot that was not kept
        ours["detail"] = {
            "timings": {"python_s": 3.0, "files_s": files, "session_s": 1.4, "total_s": 5.5}
            | {"python_from": warm_start},
            "cold_timings": {"python_s": 4.0, "files_s": 9.0 + rep, "session_s": 1.5}
            | {"python_from": "start"},
        }
        trials.append(ours)
        trials.append(trial("wllama", rep, 7.0, 4.0 + rep, {"start": 340, "runs": 1000}))
    trials.append(trial("llama.cpp", 1, 1.0, 1.0, {"runs": 400}))
    failed = trial("conteur", 4, 99.0, 99.0, {"cold": 9999})
    failed["error"] = "RuntimeError: the page did not get ready"
    trials.append(failed)
    contenders = {"conteur": {"label": "Conteur"}, "wllama": {"label": "wllama"}}
    return {"trials": trials, "contenders": contenders}


def test_load_rows_give_each_phase_per_visit_beside_the_browser_peers_only():
    header, _, first, second = load_rows(results())
    assert header.endswith("| wllama: ready |") and "llama.cpp" not in header
    # median (min–max) over the repetitions that succeeded; the failed one is left out
    assert first == "| first (empty profile) | 4.0 | 11.0 (10.0–12.0) | 1.5 | n/a | n/a | 7.0 |"
    assert second.startswith("| second (cached) | 3.0 | 4.0 (3.0–5.0) | 1.4 | 5.5 | n/a |")
    assert second.endswith("| 6.0 (5.0–7.0) |")


def test_memory_rows_give_each_contender_s_peak_per_phase():
    rows = memory_rows(results())
    assert rows[2] == "| Conteur | 250 | 1,102 (1,101–1,103) | 1,200 | n/a |"
    assert rows[3] == "| wllama | 340 | n/a | n/a | 1,000 |"
    assert rows[4] == "| llama.cpp | n/a | n/a | n/a | 400 |"


def test_no_section_without_conteur():
    only_peer = {"trials": [t for t in results()["trials"] if t["contender"] != "conteur"]}
    assert phases_section(only_peer) == []
    assert phases_section(results())[0] == "## Where the load time and the memory go"


def test_the_note_counts_how_python_started_on_each_visit():
    assert python_start_note(results()) == (
        "Python started afresh on 3 of 3 first visits and afresh on 1 of 3, from the "
        "snapshot the first visit kept on 2 of 3 second visits."
    )
    older = results()
    for t in older["trials"]:
        for timings in (t.get("detail") or {}).values():
            timings.pop("python_from", None)
    assert python_start_note(older) is None  # results from before the page said
