"""The story evaluation (pyshell/evaluate.py): the committed request set, the table, the command."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pyshell.config import ModelConfig
from pyshell.evaluate import (
    REQUESTS,
    load_requests,
    main,
    parse_parts,
    rescore,
    select,
    summarize,
    table,
)
from pyshell.onnx_runner import OnnxRunner
from pyshell.story import write_story
from pyshell.tokenizer import Tokenizer

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_set_covers_both_languages_every_length_and_a_held_out_part():
    cases = [c for c in load_requests() if c.part in ("tuning", "held-out")]
    assert len(cases) == 60
    assert Counter(c.request.language for c in cases) == {"en": 30, "fr": 30}
    assert {c.request.length for c in cases} == {"short", "medium", "long"}
    for part in ("tuning", "held-out"):
        assert {c.request.length for c in cases if c.part == part} == {"short", "medium", "long"}
    held = sum(c.part == "held-out" for c in cases)
    assert held == 20  # a third, never looked at while tuning
    for name in ("character", "setting", "theme", "tone", "text"):
        assert any(getattr(c.request, name) for c in cases), name


def test_the_risky_part_asks_for_every_risky_theme_in_both_languages():
    cases = load_requests()
    assert len({c.id for c in cases}) == len(cases)
    assert len({c.seed for c in cases}) == len(cases)
    risky = [c for c in cases if c.part in ("risky", "risky-held-out")]
    assert Counter(c.request.language for c in risky) == {"en": 21, "fr": 21}
    held = [c for c in risky if c.part == "risky-held-out"]
    assert Counter(c.request.language for c in held) == {"en": 7, "fr": 7}  # a third
    for part in ("risky", "risky-held-out"):
        assert {c.request.length for c in risky if c.part == part} == {"short", "medium", "long"}
    assert Counter(c.request.length for c in risky)["short"] > len(risky) / 2
    text = " ".join(
        f"{c.request.character} {c.request.setting} {c.request.theme}".lower() for c in risky
    )
    for theme in ("love", "amour", "pirate", "murder", "meurtre", "war", "guerre", "party",
                  "fête", "monster", "monstre", "witch", "sorcière"):  # fmt: skip
        assert theme in text, theme


def test_parts_are_chosen_by_name_one_or_several():
    assert parse_parts("tuning,risky") == ("tuning", "risky")
    assert parse_parts("all") == ("all",)
    with pytest.raises(Exception, match="unknown part 'risky-tuning'"):
        parse_parts("risky-tuning")


def test_select_by_part_length_and_language():
    cases = load_requests()
    quick = select(cases, "tuning", "short", per_language=3)
    assert [c.request.language for c in quick] == ["en"] * 3 + ["fr"] * 3
    assert all(c.part == "tuning" and c.request.length == "short" for c in quick)
    assert len(select(cases, "all")) == len(cases)
    both = select(cases, ("tuning", "risky"), "short", per_language=2)
    assert Counter((c.part, c.request.language) for c in both) == {
        ("tuning", "en"): 2, ("tuning", "fr"): 2, ("risky", "en"): 2, ("risky", "fr"): 2,
    }  # fmt: skip
    french = select(cases, ("held-out", "risky-held-out"), languages="fr")
    assert french and {c.request.language for c in french} == {"fr"}
    assert {c.part for c in french} == {"held-out", "risky-held-out"}


def row(part, language, **score):
    base = {
        "loop": False, "distinct_3": 1.0, "character": True, "language_ok": True,
        "sentence_end": True, "clean": True, "listed": [], "tokens": 160, "length_ratio": 1.0,
        "words_asked": 10, "made_up": [], "breaks": [],
    }  # fmt: skip
    return {"part": part, "language": language, "score": {**base, **score}}


def test_summary_percentages_and_means():
    rows = [
        row("tuning", "en"),
        row("tuning", "en", loop=True, sentence_end=False, distinct_3=0.5, length_ratio=1.5),
        row("tuning", "fr", character=None, clean=False, listed=["drunk", "drunk"]),
        row("tuning", "fr", character=False, language_ok=False),
    ]
    s = summarize(rows)
    assert s["stories"] == 4
    assert s["clean"] == 75.0 and s["sentence_end"] == 75.0 and s["loops"] == 25.0
    assert s["listed"] == 25.0  # stories holding a listed word, not words
    assert s["language"] == 75.0
    assert s["character_back"] == 100 * 2 / 3 and s["character_stories"] == 3
    assert s["distinct_3"] == 0.875 and s["length_ratio"] == 1.125
    assert s["length_ok"] == 75.0
    assert math.isnan(summarize([row("tuning", "en", character=None)])["character_back"])


def test_summary_of_the_new_measures():
    rows = [
        row("risky", "fr", made_up=["trévrit", "useur"], words_asked=40, length_ratio=0.5),
        row("risky", "fr", made_up=[], words_asked=60, breaks=["date"]),
        row("risky", "fr", made_up=[], words_asked=100, breaks=["note", "link"]),
        row("risky", "fr", made_up=None, words_asked=0, length_ratio=0.6),
    ]
    s = summarize(rows)
    assert s["made_up"] == 100 * 2 / 200  # pooled over the words, not averaged per story
    assert s["length_60"] == 75.0  # 0.6 counts
    assert s["breaks"] == 50.0
    assert s["listed"] == 0.0
    unknown = [row("risky", "fr", made_up=None, words_asked=0)]
    assert math.isnan(summarize(unknown)["made_up"])  # no lexicon: shown as n/a
    assert "| n/a |" in table(unknown)
    assert (
        summarize([row("risky", "en", listed=["beer"]), row("risky", "en", listed=[])])["listed"]
        == 50.0
    )


def test_table_has_a_line_per_part_and_language():
    rows = [row("tuning", "en"), row("held-out", "fr", sentence_end=False)]
    lines = table(rows).splitlines()
    names = [line.split("|")[1].strip() for line in lines[2:]]
    assert names == ["tuning", "held-out", "tuning en", "held-out fr", "all"]
    rows.append(row("risky-held-out", "en"))
    names = [line.split("|")[1].strip() for line in table(rows).splitlines()[2:]]
    assert names == ["tuning", "held-out", "risky-held-out", "tuning en", "held-out fr",
                     "risky-held-out en", "all"]  # fmt: skip
    assert "| held-out | 1 | 100 | 0 | 0 |" in table(rows)  # stories, clean, listed, ends


def test_the_command_end_to_end_on_the_tiny_model(tiny_model_dir, tmp_path):
    out = tmp_path / "stories.json"
    result = subprocess.run(
        [
            sys.executable, "-m", "pyshell.evaluate", "--model", str(tiny_model_dir),
            "--part", "tuning,risky", "--lengths", "short", "--per-language", "1",
            "--json", str(out), "--quiet",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("| part | stories |")
    data = json.loads(out.read_text())
    stories = data["stories"]
    assert [(s["part"], s["language"]) for s in stories] == [
        ("tuning", "en"),
        ("tuning", "fr"),
        ("risky", "en"),
        ("risky", "fr"),
    ]
    assert data["settings"]["policy"]["finish_sentence"] is True
    assert data["settings"]["policy"]["banned_ids"] > 0
    assert data["settings"]["policy"]["family_safe"] is True
    assert data["settings"]["policy"]["best_of"] == 2
    for story in stories:
        assert story["score"]["clean"]  # the banned ids keep markup out even of noise
        assert story["score"]["listed"] == []
        # The tiny model's 256-token context halves the short budget, as on the page.
        assert story["score"]["tokens"] <= 128 + 32


def test_rescore_scores_saved_stories_again(tmp_path):
    saved = tmp_path / "stories.json"
    story = {
        "id": "fr-26", "part": "tuning", "language": "fr", "length": "short",
        "text": " Il vit l'ours ivre.", "score": {"tokens": 6, "character": False},
    }  # fmt: skip
    saved.write_text(json.dumps({"settings": {"seconds": 1.0}, "stories": [story]}))
    rows, settings = rescore(saved)
    assert settings == {"seconds": 1.0}
    assert rows[0]["score"]["character"] is True  # "un ours endormi" comes back as "l'ours"
    assert rows[0]["score"]["length_ratio"] == 6 / 160
    assert rows[0]["score"]["listed"] == ["ivre"]  # a measure added after the stories


def test_the_evaluation_writes_through_write_story_not_the_page_module():
    """pyshell.story is the one path; the Pyodide entry points stay out of CPython tools."""
    code = "import sys, pyshell.evaluate, pyshell.cli; print(sorted(m for m in sys.modules if m.startswith('pyshell.')))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout.replace("'", '"'))
    assert "pyshell.story" in loaded
    assert "pyshell.browser" not in loaded


def test_a_request_family_safe_stories_refuse_is_reported_not_written(tiny_model_dir, tmp_path):
    """risky-en-08 asks for "a murder": the page answers with a field error, so the
    evaluation writes no story for it and says why, and goes on with the others."""
    requests = {
        "about": "two requests",
        "requests": [
            {"id": "risky-en-08", "part": "risky", "seed": 1, "request": {
                "character": "a detective", "theme": "a murder", "length": "short"}},
            {"id": "risky-en-01", "part": "risky", "seed": 2, "request": {
                "character": "a pirate", "length": "short"}},
        ],
    }  # fmt: skip
    (tmp_path / "requests.json").write_text(json.dumps(requests))
    out = tmp_path / "stories.json"
    result = subprocess.run(
        [
            sys.executable, "-m", "pyshell.evaluate", "--model", str(tiny_model_dir),
            "--requests", str(tmp_path / "requests.json"), "--json", str(out), "--quiet",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert [s["id"] for s in data["stories"]] == ["risky-en-01"]
    assert list(data["settings"]["refused"]) == ["risky-en-08"]
    assert "murder" in data["settings"]["refused"]["risky-en-08"]


def test_the_cpu_graph_writes_the_stories_the_page_writes_on_wasm(tiny_model_dir, tmp_path):
    """--backend wasm: each story is write_story's on the CPU graph, with the case's seed."""
    out = tmp_path / "stories.json"
    args = ["--model", str(tiny_model_dir), "--part", "tuning", "--lengths", "short"]
    assert main([*args, "--per-language", "1", "--backend", "wasm", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["settings"]["backend"] == "wasm"
    config = ModelConfig.from_file(tiny_model_dir)
    tokenizer = Tokenizer.from_file(tiny_model_dir / "tokenizer.model")
    cases = {c.id: c for c in load_requests(REQUESTS)}
    for written in data["stories"]:
        case = cases[written["id"]]
        for backend, same in (("wasm", True), ("webgpu", False)):
            story = asyncio.run(
                write_story(
                    OnnxRunner(tiny_model_dir, backend=backend), tokenizer, config,
                    case.request, {"seed": case.seed},
                )
            )  # fmt: skip
            assert (story.generation.text == written["text"]) is same
