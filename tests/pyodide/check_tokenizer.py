"""Inside Pyodide: load the tokenizer both ways, encode the cases, time it.

run_tokenizer.mjs puts the files in place and calls main(); the pytest side
(tests/test_tokenizer_pyodide.py) asserts on the JSON report.
"""

from __future__ import annotations

import base64
import json
import sys
import time


def main(data: str, boot_seconds: float) -> str:
    started = time.perf_counter()
    from pyshell.tokenizer import Tokenizer

    import_s = time.perf_counter() - started
    # The cached load first, as the page does it: nothing warmed up before it.
    cached, cached_s = timed(lambda: Tokenizer.from_file(f"{data}/cached/tokenizer.model"))
    plain, plain_s = timed(lambda: Tokenizer.from_file(f"{data}/plain/tokenizer.model"))
    with open(f"{data}/cases.json", encoding="utf-8") as f:
        spec = json.load(f)

    mismatches, decode_mismatches, chars = [], [], 0
    started = time.perf_counter()
    for n, case in enumerate(spec["cases"]):
        text = base64.b64decode(case["utf8"]).decode("utf-8", "surrogatepass")
        chars += len(text)
        ids = cached.encode(text)
        if ids != case["ids"]:
            mismatches.append(n)
        elif cached.decode(ids) != case["decoded"]:
            decode_mismatches.append(n)
    corpus_s = time.perf_counter() - started

    speed_text = spec["speed_text"]
    fresh = Tokenizer.from_file(f"{data}/cached/tokenizer.model")  # empty segment cache
    cold_ids, cold_s = timed(lambda: fresh.encode(speed_text))
    _, warm_s = timed(lambda: fresh.encode(speed_text))
    return json.dumps(
        {
            "python": sys.version.split()[0],
            "boot_s": boot_seconds,
            "import_s": import_s,
            "load_without_cache_s": plain_s,
            "load_with_cache_s": cached_s,
            "used_cache": [plain.loaded_from_cache, cached.loaded_from_cache],
            "tables_equal": same_tables(plain, cached),
            "cases": len(spec["cases"]),
            "chars": chars,
            "corpus_encode_s": corpus_s,
            "mismatches": mismatches[:20],
            "mismatch_count": len(mismatches),
            "decode_mismatch_count": len(decode_mismatches),
            "speed_chars": len(speed_text),
            "speed_ids_ok": cold_ids == spec.get("speed_ids", cold_ids),
            "encode_cold_s": cold_s,
            "encode_warm_s": warm_s,
        }
    )


def timed(work):
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def same_tables(a, b) -> bool:
    ma, mb = a.model, b.model
    return (
        list(ma.pieces) == list(mb.pieces)
        and list(ma.scores) == list(mb.scores)
        and bytes(ma.types) == bytes(mb.types)
        and ma.spec() == mb.spec()
    )
