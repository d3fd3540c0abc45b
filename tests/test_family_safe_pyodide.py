"""The family-safe filter under Pyodide (the page's runtime) bans what CPython bans,
and the French known-words rule (pyshell/known_words.py) drops what CPython drops.

Same seed ⇒ same story in the page and in CPython needs the same banned ids at every
step: tests/pyodide/run_family_safe.mjs builds both languages' filters in Pyodide
(Node, the npm `pyodide` package, offline) and replays steps written here: 64
candidates each, from a writer that keeps spelling listed words, as in
tests/test_family_safe.py. It also times the build and the per-step cost there
(the worst case: docs/stories.md has the cost on real stories).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest

from pyshell.family_safe import family_filter, word_list
from pyshell.tokenizer import Tokenizer
from tests.pyodide.check_family_safe import main as replay
from tests.tokenizer_fixtures import ROOT, real_tokenizer_model

RUNNER = ROOT / "tests" / "pyodide" / "run_family_safe.mjs"
PYODIDE = ROOT / "node_modules" / "pyodide" / "pyodide.mjs"
EOS = 1
STEPS = 600  # per language


def recorded_steps(tokenizer: Tokenizer, language: str, seed: int) -> list:
    """[candidates, chosen, last] per step, chosen among what CPython's filter leaves."""
    rng = random.Random(seed)
    forms = word_list(language).forms
    pool = sorted({i for f in forms for i in tokenizer.encode(" " + f) + tokenizer.encode(f)})
    pool += [rng.randrange(3_000, tokenizer.vocab_size) for _ in range(500)] + list(range(238, 494))
    state = family_filter(tokenizer, language, {EOS}).start()
    decoder = tokenizer.stream_decoder()
    steps, script = [], []
    for n in range(STEPS):
        if not script:
            script = tokenizer.encode(rng.choice([" ", "\n", " l'"]) + rng.choice(forms))
        wanted = script.pop(0)
        candidates = rng.sample(pool, 63) + [wanted]
        last = n % 50 == 49
        allowed = [i for i in candidates if i not in state.banned(candidates, last)]
        chosen = wanted if wanted in allowed else rng.choice(allowed or [EOS])
        if chosen == EOS:
            chosen = tokenizer.piece_to_id(".")
        steps.append([candidates, chosen, last])
        state.push(chosen, decoder.push(chosen))
    return steps


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> tuple[dict, dict]:
    node = shutil.which("node")
    assert node, "Node.js is needed to run Pyodide (it is part of ./conteur setup)"
    assert PYODIDE.is_file(), f"{PYODIDE} is missing: run ./conteur setup (npm ci)"
    model = real_tokenizer_model()
    tokenizer = Tokenizer.from_file(model)
    spec = {
        "stop_ids": [EOS],
        "steps": {lang: recorded_steps(tokenizer, lang, seed) for lang, seed in [("en", 1), ("fr", 2)]},
    }  # fmt: skip
    path = tmp_path_factory.mktemp("family-safe") / "steps.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    result = subprocess.run(
        [node, str(RUNNER), "--model", str(model), "--steps", str(path)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    pyodide = json.loads(result.stdout.strip().splitlines()[-1])
    cpython = json.loads(replay(str(model), str(path)))
    for name, found in (("Pyodide", pyodide), ("CPython", cpython)):
        print(
            f"\n{name}: family filter built in {found['build_s']['en']:.2f} s (en), "
            f"{found['build_s']['fr']:.2f} s (fr); {found['step_us']['en']:.0f} µs (en), "
            f"{found['step_us']['fr']:.0f} µs (fr) per step of 64 candidates"
        )
    return pyodide, cpython


def test_pyodide_bans_the_same_ids_as_cpython_at_every_step(reports):
    pyodide, cpython = reports
    assert pyodide["banned"] == cpython["banned"]
    assert cpython["bans"] >= 200  # the writer kept trying: the comparison is not empty


def test_pyodide_drops_the_same_unknown_forms_as_cpython_at_every_step(reports):
    pyodide, cpython = reports
    assert pyodide["known_dropped"] == cpython["known_dropped"]
    dropped = sum(map(len, cpython["known_dropped"]))
    assert 1_000 < dropped < 64 * len(cpython["known_dropped"]) - 1_000  # some of each


def test_the_known_words_rule_costs_little_in_pyodide(reports, record_property):
    pyodide, _ = reports
    record_property("known_load_s", pyodide["known_load_s"])
    record_property("known_step_us", pyodide["known_step_us"])
    print(
        f"\nPyodide: French word list read in {pyodide['known_load_s']:.2f} s; "
        f"{pyodide['known_step_us']:.0f} µs per step of 64 candidates"
    )
    assert pyodide["known_load_s"] < 1.0
    assert pyodide["known_step_us"] < 2000  # a WASM decode step takes about 70 ms


def test_the_filter_costs_little_in_pyodide(reports, record_property):
    pyodide, _ = reports
    for language in ("en", "fr"):
        record_property(f"build_s_{language}", pyodide["build_s"][language])
        record_property(f"step_us_{language}", pyodide["step_us"][language])
        assert pyodide["build_s"][language] < 1.0  # reads the word list; tokens come later
        # A WASM decode step takes about 70 ms. These steps are the worst case (a listed
        # word in progress at nearly every one, each token decided on first sight), timed
        # on a shared machine: the filter must still stay within a few % of a step.
        assert pyodide["step_us"][language] < 2000
