"""Inside Pyodide (and CPython): build the family filters, replay recorded steps, time them;
replay the French steps through the known-words rule too (pyshell/known_words.py).

run_family_safe.mjs calls main() in Pyodide; tests/test_family_safe_pyodide.py calls the
same main() in CPython and compares the two reports.
"""

from __future__ import annotations

import json
import time


def main(tokenizer_path: str, steps_path: str) -> str:
    from pyshell.family_safe import FamilyFilter
    from pyshell.tokenizer import Tokenizer

    tokenizer = Tokenizer.from_file(tokenizer_path)
    with open(steps_path, encoding="utf-8") as f:
        spec = json.load(f)
    report: dict = {"build_s": {}, "step_us": {}, "banned": {}}
    for language, steps in spec["steps"].items():
        started = time.process_time()
        family = FamilyFilter(tokenizer, language, spec["stop_ids"])
        report["build_s"][language] = time.process_time() - started
        state = family.start()
        decoder = tokenizer.stream_decoder()
        banned, spent = [], 0.0
        for candidates, chosen, last in steps:
            text = decoder.push(chosen)  # the loop decodes each token anyway
            started = time.process_time()
            found = state.banned(candidates, last)
            state.push(chosen, text)
            spent += time.process_time() - started
            banned.append(sorted(found))
        report["banned"][language] = banned
        report["step_us"][language] = 1e6 * spent / max(1, len(steps))
        report["bans"] = report.get("bans", 0) + sum(map(len, banned))
    report.update(replay_known_words(tokenizer, spec["steps"]["fr"]))
    return json.dumps(report)


def replay_known_words(tokenizer, steps: list) -> dict:
    """The candidates the French known-words rule drops at each step, and its cost."""
    from pyshell.known_words import WordGuard, known_words

    started = time.process_time()
    guard = WordGuard(known_words("fr"))
    guard.read_prompt("Il était une fois, dans un petit village, une fille nommée Zoé.")
    guard.words.knows("il")  # the list is read on first use
    load_s = time.process_time() - started
    decoder = tokenizer.stream_decoder()
    dropped, spent = [], 0.0
    for candidates, chosen, _ in steps:
        text = decoder.push(chosen)
        started = time.process_time()
        dropped.append([i for i in candidates if not guard.allows(tokenizer.token_text(i))])
        guard.follow(text)
        spent += time.process_time() - started
    return {
        "known_load_s": load_s,
        "known_dropped": dropped,
        "known_step_us": 1e6 * spent / max(1, len(steps)),
    }
