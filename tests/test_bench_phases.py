"""bench/phases.py: the load and memory breakdown RESULTS.md shows, from a results.json."""

from __future__ import annotations

from bench.analysis import _load_cpu_notes
from bench.load_cpu import load_cpu, thread_times
from bench.phases import cpu_rows, load_rows, memory_rows, phases_section, python_start_note

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
        "Python started afresh on 3 of 3 first visits and 1 of 3 second visits, and from "
        "the build's snapshot on 2 of 3 second visits."
    )
    older = results()
    for t in older["trials"]:
        for timings in (t.get("detail") or {}).values():
            timings.pop("python_from", None)
    assert python_start_note(older) is None  # results from before the page said


def with_cpu(data: dict) -> dict:
    """`data` with first-visit CPU times: Conteur's worker busier with each repetition."""
    for t in data["trials"]:
        if t["contender"] in ("conteur", "wllama") and not t["error"]:
            worker = 2.0 + t["rep"] if t["contender"] == "conteur" else 0.0
            groups = {"worker": worker, "background": 1.0, "service_worker": 0.5, "io": 0.25}
            t["cold"]["cpu"] = {"total_s": worker + 1.75, "busy_cores": 1.5, "groups": groups}
    return data


def test_cpu_rows_give_each_visit_s_cpu_by_thread_group():
    rows = cpu_rows(with_cpu(results()))
    assert rows[0].startswith(
        "| contender | visit | load (s) | CPU, all threads (s) | cores busy |"
    )
    # the failed repetition and the second visits (no cpu recorded) are left out
    assert (
        rows[2]
        == "| Conteur | first | 11.0 | 5.8 (4.8–6.8) | 1.5 | 4.0 (3.0–5.0) | 1.0 | 0.5 | 0.2 | 0.0 |"
    )
    assert rows[3].startswith("| wllama | first | 7.0 | 1.8 | 1.5 | 0.0 |")
    assert len(rows) == 4  # llama.cpp has no browser
    assert cpu_rows(results()) == []  # results from before the bench read CPU times


def test_load_cpu_sums_each_thread_s_growth_by_group():
    before = {(1, 1): ("DedicatedWorker", 1.0), (1, 2): ("ThreadPoolForeg", 0.5)}
    after = {
        (1, 1): ("DedicatedWorker", 3.0),
        (1, 2): ("ThreadPoolForeg", 1.5),
        (1, 3): ("ThreadPoolForeg", 0.25),  # born during the load: counts whole
        (2, 4): ("Chrome_IOThread", 0.25),
        (2, 5): ("CrBrowserMain", 0.5),
    }
    got = load_cpu(before, after, wall_s=2.0)
    assert got["groups"] == {
        "worker": 2.0, "background": 1.25, "service_worker": 0.0, "io": 0.25, "other": 0.5,
    }  # fmt: skip
    assert (got["total_s"], got["busy_cores"]) == (4.0, 2.0)


def test_thread_times_reads_this_process_s_own_threads():
    import os

    times = thread_times(os.getpid())
    assert (os.getpid(), os.getpid()) in times  # the main thread: tid = pid
    assert all(seconds >= 0 for _, seconds in times.values())
    assert thread_times(None) == {}


def test_the_cpu_note_compares_the_first_visits_cpu_with_wllama_s():
    data = with_cpu(results()) | {"machine": {"cores": 2}}
    [note] = _load_cpu_notes(data)
    assert note.startswith("- A first visit costs Conteur 5.8 s of CPU against wllama's 1.8 s")
    assert "4.0 s in the page's worker" in note and "0.5 s in the service worker" in note
    assert "they keep 1.5 and 1.5 of the 2 cores busy" in note
    assert _load_cpu_notes(results()) == []  # no CPU times recorded
