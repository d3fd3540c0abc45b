"""The story evaluation (pyshell/evaluate.py): the committed request set, the table, the command."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

from pyshell.evaluate import load_requests, rescore, select, summarize, table

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_set_covers_both_languages_every_length_and_a_held_out_part():
    cases = load_requests()
    assert len(cases) >= 60
    assert len({c.id for c in cases}) == len(cases)
    assert Counter(c.request.language for c in cases) == {"en": 30, "fr": 30}
    assert {c.request.length for c in cases} == {"short", "medium", "long"}
    for part in ("tuning", "held-out"):
        assert {c.request.length for c in cases if c.part == part} == {"short", "medium", "long"}
    held = sum(c.part == "held-out" for c in cases)
    assert held == 20  # a third, never looked at while tuning
    for name in ("character", "setting", "theme", "tone", "text"):
        assert any(getattr(c.request, name) for c in cases), name


def test_select_by_part_length_and_language():
    cases = load_requests()
    quick = select(cases, "tuning", "short", per_language=3)
    assert [c.request.language for c in quick] == ["en"] * 3 + ["fr"] * 3
    assert all(c.part == "tuning" and c.request.length == "short" for c in quick)
    assert len(select(cases, "all")) == len(cases)


def row(part, language, **score):
    base = {
        "loop": False, "distinct_3": 1.0, "character": True, "language_ok": True,
        "sentence_end": True, "clean": True, "listed": [], "tokens": 160, "length_ratio": 1.0,
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


def test_table_has_a_line_per_part_and_language():
    rows = [row("tuning", "en"), row("held-out", "fr", sentence_end=False)]
    lines = table(rows).splitlines()
    names = [line.split("|")[1].strip() for line in lines[2:]]
    assert names == ["tuning", "held-out", "tuning en", "held-out fr", "all"]
    assert "| held-out | 1 | 100 | 0 | 0 |" in table(rows)  # stories, clean, listed, ends


def test_the_command_end_to_end_on_the_tiny_model(tiny_model_dir, tmp_path):
    out = tmp_path / "stories.json"
    result = subprocess.run(
        [
            sys.executable, "-m", "pyshell.evaluate", "--model", str(tiny_model_dir),
            "--lengths", "short", "--per-language", "1", "--json", str(out), "--quiet",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("| part | stories |")
    data = json.loads(out.read_text())
    stories = data["stories"]
    assert [s["language"] for s in stories] == ["en", "fr"]
    assert data["settings"]["policy"]["finish_sentence"] is True
    assert data["settings"]["policy"]["banned_ids"] > 0
    assert data["settings"]["policy"]["family_safe"] is True
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
