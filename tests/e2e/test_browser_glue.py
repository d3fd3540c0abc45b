"""pyshell.browser, the page's Python entry points, run in CPython (no browser needed)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from pyshell import browser

# The settings form's rules themselves are tested in tests/test_settings.py.


def test_surprise_me_gives_a_full_idea():
    idea = json.loads(browser.surprise_me("fr", "short"))
    assert set(idea) == {"character", "setting", "theme", "tone", "language"}
    assert idea["language"] == "fr" and all(idea.values())
    error = json.loads(browser.surprise_me("de"))["error"]
    assert error == {
        "kind": "input", "field": "language", "code": "not_one_of",
        "params": {"choices": ["en", "fr"], "got": "de"},
        "message": "language must be one of en, fr (got de)",
    }  # fmt: skip


def test_init_reports_a_broken_config(tiny_model_dir):
    result = json.loads(browser.init("{}", str(tiny_model_dir / "tokenizer.pieces")))
    assert result["error"]["kind"] == "model"
    assert result["error"]["code"] == "model_config"
    assert result["error"]["params"] == {"detail": result["error"]["message"]}


def test_init_loads_the_pieces_table_alone_and_refuses_anything_else(tiny_model_dir, tmp_path):
    config = (tiny_model_dir / "conteur.json").read_text()
    alone = tmp_path / "tokenizer.pieces"  # no tokenizer.model beside it, as in the page
    alone.write_bytes((tiny_model_dir / "tokenizer.pieces").read_bytes())
    assert json.loads(browser.init(config, str(alone)))["vocab_size"] == 400
    wrong = tmp_path / "wrong.pieces"
    wrong.write_bytes((tiny_model_dir / "tokenizer.model").read_bytes())
    result = json.loads(browser.init(config, str(wrong)))
    assert result["error"]["code"] == "model_config"
    assert "not a tokenizer.pieces file" in result["error"]["message"]


def test_init_reports_a_tokenizer_from_another_export(tiny_model_dir):
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    config["architecture"]["vocab_size"] = 300  # the tiny tokenizer has 400 pieces
    result = json.loads(browser.init(json.dumps(config), str(tiny_model_dir / "tokenizer.pieces")))
    assert result["error"]["code"] == "tokenizer_mismatch"
    assert result["error"]["params"] == {"tokenizer": 400, "model": 300}
    assert "different exports" in result["error"]["message"]


def run_story(request_fields: dict, settings_fields: dict) -> dict:
    story = browser.generate_story(
        FakeRunner(), json.dumps(request_fields), json.dumps(settings_fields), None
    )
    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright may own this thread's loop
        return json.loads(pool.submit(asyncio.run, story).result())


def test_a_story_before_init_says_the_model_is_not_loaded(monkeypatch):
    monkeypatch.setattr(browser, "_state", browser._State())
    error = run_story({"text": "Hi"}, {})["error"]
    assert error == {
        "kind": "model", "code": "not_loaded", "params": {},
        "message": "the model is not loaded yet",
    }  # fmt: skip


class FakeRunner:
    """Stands for the JS runner; the form errors below never reach a step."""

    contextLength = 256


@pytest.mark.parametrize(
    ("request_fields", "settings_fields", "field", "code", "params"),
    [
        ({"text": "  "}, {}, "text", "nothing_to_go_on", {}),
        ({"text": "x" * 50_000}, {}, "text", "too_long", {"length": 50_000, "limit": 4000}),
        ({"text": "Hi", "length": "epic"}, {}, "length", "not_one_of",
         {"choices": ["short", "medium", "long"], "got": "epic"}),
        ({"text": "Hi"}, {"temperature": "5"}, "temperature", "out_of_range",
         {"min": 0.0, "max": 2.0, "got": "5"}),
        ({"text": "Hi"}, {"seed": "lucky"}, "seed", "not_whole", {"got": "lucky"}),
        ({"text": "Hi"}, {"max_new_tokens": "255"}, "max_new_tokens", "out_of_range",
         {"min": 1, "max": 254, "got": "255"}),
        ({"text": "Hi"}, {"colour": "red"}, "colour", "unknown_field", {"name": "colour"}),
    ],
)  # fmt: skip
def test_form_mistakes_come_back_as_input_errors_with_codes(
    tiny_model_dir, request_fields, settings_fields, field, code, params
):
    config = (tiny_model_dir / "conteur.json").read_text()
    assert "error" not in json.loads(browser.init(config, str(tiny_model_dir / "tokenizer.pieces")))
    result = run_story(request_fields, settings_fields)
    assert result["error"] == {
        "kind": "input",
        "field": field,
        "code": code,
        "params": params,
        "message": result["error"]["message"],
    }
    assert result["error"]["message"]  # the English text, for logs and the terminal
