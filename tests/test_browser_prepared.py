"""pyshell.browser.prepared: the page skips loading the tokenizer the build already loaded.

The site's build runs `init` before it snapshots Python (web/python_start.py), so a
page started from that snapshot asks `prepared` first. It must answer only for the very
conteur.json `init` read, whose sha256 list pins the tokenizer's pieces.
"""

from __future__ import annotations

import json

import pytest

from pyshell import browser


@pytest.fixture
def fresh_state(monkeypatch):
    monkeypatch.setattr(browser, "_state", browser._State())
    return browser._state


def test_prepared_answers_as_init_did_for_the_same_config(fresh_state, tiny_model_dir):
    text = (tiny_model_dir / "conteur.json").read_text(encoding="utf-8")
    assert browser.prepared(text) == "null"  # nothing loaded yet
    info = browser.init(text, str(tiny_model_dir / "tokenizer.pieces"))
    assert "error" not in json.loads(info)
    assert browser.prepared(text) == info


def test_prepared_refuses_any_other_config(fresh_state, tiny_model_dir):
    text = (tiny_model_dir / "conteur.json").read_text(encoding="utf-8")
    browser.init(text, str(tiny_model_dir / "tokenizer.pieces"))
    config = json.loads(text)
    config["name"] = config["name"] + "-other"
    assert browser.prepared(json.dumps(config)) == "null"
    assert browser.prepared(text + " ") == "null"  # a byte changed is another file


def test_a_failed_init_leaves_nothing_prepared(fresh_state, tiny_model_dir, tmp_path):
    text = (tiny_model_dir / "conteur.json").read_text(encoding="utf-8")
    missing = tmp_path / "tokenizer.pieces"
    assert "error" in json.loads(browser.init(text, str(missing)))
    assert browser.prepared(text) == "null"
