"""The tokenizer under Pyodide (the page's runtime) equals CPython's sentencepiece.

Runs tests/pyodide/run_tokenizer.mjs with Node and the npm `pyodide` package
(offline): the whole Debian corpus, the edge cases and random strings, with
ids computed here by sentencepiece; and times the load with the
`tokenizer.pieces` cache, which must stay under a second.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import pytest
import sentencepiece as spm

from tests.tokenizer_corpus import (
    EDGE_CASES,
    MIN_CORPUS_BYTES,
    corpus_bytes,
    debian_corpus,
    random_texts,
)
from tests.tokenizer_fixtures import ROOT, real_tokenizer_model, spm_encode

RUNNER = ROOT / "tests" / "pyodide" / "run_tokenizer.mjs"
PYODIDE = ROOT / "node_modules" / "pyodide" / "pyodide.mjs"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    node = shutil.which("node")
    assert node, "Node.js is needed to run Pyodide (it is part of ./conteur setup)"
    assert PYODIDE.is_file(), f"{PYODIDE} is missing: run ./conteur setup (npm ci)"
    model = real_tokenizer_model()
    processor = spm.SentencePieceProcessor(model_file=str(model))
    corpus = debian_corpus()
    assert corpus_bytes(corpus) >= MIN_CORPUS_BYTES
    texts = [t for _, t in corpus] + EDGE_CASES + random_texts(2000, seed=7)
    cases = []
    for text in texts:
        ids = spm_encode(processor, text)
        # base64 of the UTF-8 (with lone surrogates kept): JSON would pair up "\ud83d\ude00".
        utf8 = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
        cases.append({"utf8": utf8, "ids": ids, "decoded": processor.decode(ids)})
    speed_text = "".join(texts)[300_000:310_000]
    path = tmp_path_factory.mktemp("pyodide") / "cases.json"
    path.write_text(
        json.dumps(
            {"cases": cases, "speed_text": speed_text, "speed_ids": processor.encode(speed_text)}
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [node, str(RUNNER), "--model", str(model), "--cases", str(path)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    print(
        f"\nPyodide {found['python']}: boot {found['boot_s']:.2f} s; tokenizer load "
        f"{found['load_with_cache_s']:.3f} s with the cache, "
        f"{found['load_without_cache_s']:.3f} s without; {found['chars']:,} characters "
        f"in {found['cases']} texts encoded in {found['corpus_encode_s']:.2f} s; "
        f"10,000 characters in {found['encode_cold_s'] * 1000:.1f} ms cold, "
        f"{found['encode_warm_s'] * 1000:.1f} ms warm"
    )
    found["expected_cases"] = len(cases)
    return found


def test_pyodide_encodes_like_sentencepiece(report):
    assert report["cases"] == report["expected_cases"]
    assert report["mismatch_count"] == 0, f"texts that differ: {report['mismatches']}"
    assert report["decode_mismatch_count"] == 0
    assert report["speed_ids_ok"]


def test_pyodide_cache_and_protobuf_tables_are_identical(report):
    assert report["used_cache"] == [False, True]
    assert report["tables_equal"]


def test_pyodide_load_with_cache_is_under_a_second(report, record_property):
    for key in ("boot_s", "load_with_cache_s", "load_without_cache_s", "encode_cold_s"):
        record_property(key, report[key])
    assert report["load_with_cache_s"] < 1.0
