"""Inside Pyodide (and CPython): build the family filters, replay recorded steps, time them.

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
    return json.dumps(report)
