"""pyshell.browser, the page's Python entry points, run in CPython (no browser needed)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from pyshell import browser
from pyshell.prompts import StoryRequest
from pyshell.sampler import SettingError


def settings(**values):
    return browser.parse_settings(values, StoryRequest(text="Hi"), 256, 64)


def test_empty_fields_take_the_defaults_and_the_length_sets_the_budget():
    config, budget = settings()
    assert (config.temperature, config.top_p, config.repetition_penalty) == (0.8, 0.95, 1.1)
    assert config.seed is None and config.top_k == 64
    assert budget == 128  # medium (320) capped at half of a 256-token context


def test_typed_values_are_read_exactly():
    config, budget = settings(
        temperature="0,5", top_p="1", seed="18446744073709551615", max_new_tokens="12"
    )
    assert config.temperature == 0.5 and config.top_p == 1.0
    assert config.seed == 2**64 - 1 and budget == 12


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", "abc", "temperature must be a number"),
        ("temperature", "nan", "finite"),
        ("top_p", "0", "top_p must be greater than 0"),
        ("max_new_tokens", "255", "max length must be between 1 and 254"),
        ("max_new_tokens", "1.5", "max length must be a whole number"),
        ("seed", "-3", "between 0 and 2**64 - 1"),
        ("colour", "red", "unknown setting"),
    ],
)
def test_bad_settings_name_their_field(field, value, message):
    with pytest.raises(SettingError, match=message.replace("*", r"\*")) as error:
        settings(**{field: value})
    assert error.value.setting == field


def test_surprise_me_gives_a_full_idea():
    idea = json.loads(browser.surprise_me("fr", "short"))
    assert set(idea) == {"character", "setting", "theme", "tone", "language"}
    assert idea["language"] == "fr" and all(idea.values())
    assert json.loads(browser.surprise_me("de"))["error"]["field"] == "language"


def test_init_reports_a_broken_config(tiny_model_dir):
    result = json.loads(browser.init("{}", str(tiny_model_dir / "tokenizer.model")))
    assert result["error"]["kind"] == "model"


class FakeRunner:
    """Stands for the JS runner; the form errors below never reach a step."""

    contextLength = 256


@pytest.mark.parametrize(
    ("request_fields", "settings_fields", "field"),
    [
        ({"text": "  "}, {}, "text"),
        ({"text": "x" * 50_000}, {}, "text"),
        ({"text": "Hi", "length": "epic"}, {}, "length"),
        ({"text": "Hi"}, {"temperature": "5"}, "temperature"),
    ],
)
def test_form_mistakes_come_back_as_input_errors(
    tiny_model_dir, request_fields, settings_fields, field
):
    config = (tiny_model_dir / "conteur.json").read_text()
    assert "error" not in json.loads(browser.init(config, str(tiny_model_dir / "tokenizer.model")))
    story = browser.generate_story(
        FakeRunner(), json.dumps(request_fields), json.dumps(settings_fields), None
    )
    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright may own this thread's loop
        result = json.loads(pool.submit(asyncio.run, story).result())
    assert result["error"] == {
        "kind": "input",
        "field": field,
        "message": result["error"]["message"],
    }
