"""The settings' rules (pyshell/settings.py): ranges, defaults, the budget, the form, the
page's copy."""

from __future__ import annotations

import json

import pytest

from pyshell.errors import ErrorCode, SettingError
from pyshell.prompts import LENGTHS, MAX_TEXT_CHARS, TONES
from pyshell.settings import (
    MAX_SEED,
    SETTINGS,
    SamplingConfig,
    check_budget,
    default_budget,
    page_settings,
    parse_sampling,
    parse_settings,
)

OPEN_RANGE = ErrorCode.OUT_OF_RANGE_MIN_EXCLUDED
SEED_MAX = str(MAX_SEED)  # beyond JavaScript's exact integers: a string

# --- SamplingConfig: values given in code --------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value", "code", "params"),
    [
        ("temperature", -0.1, ErrorCode.OUT_OF_RANGE, {"min": 0.0, "max": 2.0, "got": "-0.1"}),
        ("temperature", 2.5, ErrorCode.OUT_OF_RANGE, {"min": 0.0, "max": 2.0, "got": "2.5"}),
        ("temperature", float("nan"), ErrorCode.NOT_A_NUMBER, {"got": "nan"}),
        ("temperature", "hot", ErrorCode.NOT_A_NUMBER, {"got": "hot"}),
        ("top_k", 0, ErrorCode.BELOW_MIN, {"min": 1, "got": "0"}),
        ("top_k", 2.5, ErrorCode.NOT_WHOLE, {"got": "2.5"}),
        ("top_p", 0.0, OPEN_RANGE, {"min": 0.0, "max": 1.0, "got": "0"}),
        ("top_p", 1.01, OPEN_RANGE, {"min": 0.0, "max": 1.0, "got": "1.01"}),
        ("repetition_penalty", 0.9, ErrorCode.OUT_OF_RANGE, {"min": 1.0, "max": 2.0, "got": "0.9"}),
        ("repetition_penalty", 2.5, ErrorCode.OUT_OF_RANGE, {"min": 1.0, "max": 2.0, "got": "2.5"}),
        ("seed", -1, ErrorCode.OUT_OF_RANGE, {"min": 0, "max": SEED_MAX, "got": "-1"}),
        ("seed", 2**64, ErrorCode.OUT_OF_RANGE, {"min": 0, "max": SEED_MAX, "got": str(2**64)}),
        ("seed", 1.0, ErrorCode.NOT_WHOLE, {"got": "1"}),
        ("seed", True, ErrorCode.NOT_WHOLE, {"got": "True"}),
    ],
)  # fmt: skip
def test_invalid_sampling_names_the_setting_its_code_and_range(setting, value, code, params):
    with pytest.raises(SettingError) as info:
        SamplingConfig(**{setting: value})
    assert info.value.setting == setting
    assert (info.value.code, info.value.params) == (code, params)
    assert str(info.value).startswith(SETTINGS[setting].label + " must be")
    assert isinstance(info.value, ValueError)


def test_english_messages_write_the_range_and_the_value():
    with pytest.raises(SettingError) as info:
        SamplingConfig(temperature=5)
    assert str(info.value) == "temperature must be between 0 and 2 (got 5)"
    with pytest.raises(SettingError) as info:
        SamplingConfig(top_p=0)
    assert str(info.value) == "top-p must be greater than 0 and at most 1 (got 0)"
    with pytest.raises(SettingError) as info:
        SamplingConfig(seed=-1)
    assert str(info.value) == "seed must be between 0 and 18446744073709551615 (got -1)"


def test_edge_values_are_accepted():
    SamplingConfig(temperature=0, top_k=1, top_p=1.0, repetition_penalty=1.0, seed=0)
    SamplingConfig(temperature=2, top_p=1e-9, repetition_penalty=2.0, seed=2**64 - 1)
    SamplingConfig(min_p=0.0)
    SamplingConfig(min_p=1.0)


def test_min_p_is_checked_though_the_form_does_not_show_it():
    # The story policy sets it per language; a wrong value in code still gets the message.
    assert "min_p" not in SETTINGS
    with pytest.raises(SettingError) as info:
        SamplingConfig(min_p=1.5)
    assert str(info.value) == "min-p must be between 0 and 1 (got 1.5)"


def test_the_defaults_are_the_settings_defaults():
    d = SamplingConfig()
    assert (d.temperature, d.top_k, d.top_p, d.repetition_penalty, d.seed) == (
        0.7, 64, 0.95, 1.1, None,
    )  # fmt: skip
    assert [SETTINGS[n].default for n in ("temperature", "top_p", "repetition_penalty")] == [
        d.temperature, d.top_p, d.repetition_penalty,
    ]  # fmt: skip


# --- the budget ------------------------------------------------------------------------------


def test_the_default_budget_follows_the_length_and_half_a_small_context():
    assert [default_budget(length, 32768) for length in LENGTHS] == [160, 320, 640]
    assert [default_budget(length, 256) for length in LENGTHS] == [128, 128, 128]
    assert default_budget("short", 3) == 1


def test_the_budget_leaves_room_for_bos_and_one_prompt_token():
    assert check_budget(1, 256) == 1 and check_budget(254, 256) == 254
    for bad in (0, 255):
        with pytest.raises(SettingError) as info:
            check_budget(bad, 256)
        assert info.value.params == {"min": 1, "max": 254, "got": str(bad)}
    with pytest.raises(SettingError) as info:
        check_budget(1, 1)
    assert (info.value.setting, info.value.code) == ("context_length", ErrorCode.BELOW_MIN)


# --- the settings form: values as typed -----------------------------------------------------


def settings(**values):
    return parse_settings(values, "medium", 256, 64)


def test_empty_fields_take_the_defaults_and_the_length_sets_the_budget():
    parsed = settings()
    config = parsed.sampling
    assert (config.temperature, config.top_p, config.repetition_penalty) == (0.7, 0.95, 1.1)
    assert config.seed is None and config.top_k == 64
    assert parsed.max_new_tokens == 128  # medium (320) capped at half of a 256-token context
    assert parsed.hard_limit is False
    assert parse_settings({}, "short", 32768, 64).max_new_tokens == 160
    assert parse_settings({}, "medium", 32768, 16).sampling.top_k == 16  # the graph's candidates


def test_typed_values_are_read_exactly():
    parsed = settings(
        temperature="0,5", top_p="1", seed="18446744073709551615", max_new_tokens=" 12 "
    )
    assert parsed.sampling.temperature == 0.5 and parsed.sampling.top_p == 1.0
    assert parsed.sampling.seed == 2**64 - 1
    assert parsed.max_new_tokens == 12 and parsed.hard_limit is True
    assert settings(seed="1_000", top_k="8.0").sampling.seed == 1000
    assert parse_sampling({"temperature": 0.0, "top_k": 8, "seed": None}).top_k == 8


@pytest.mark.parametrize(
    ("field", "value", "code", "params", "message"),
    [
        ("temperature", "abc", ErrorCode.NOT_A_NUMBER, {"got": "abc"},
         "temperature must be a number (got abc)"),
        ("temperature", "nan", ErrorCode.NOT_FINITE, {"got": "nan"},
         "temperature must be a finite number"),
        ("temperature", "5", ErrorCode.OUT_OF_RANGE, {"min": 0.0, "max": 2.0, "got": "5"},
         "temperature must be between 0 and 2 (got 5)"),
        ("top_p", "0", ErrorCode.OUT_OF_RANGE_MIN_EXCLUDED, {"min": 0.0, "max": 1.0, "got": "0"},
         "top-p must be greater than 0 and at most 1"),
        ("top_k", "65", ErrorCode.OUT_OF_RANGE, {"min": 1, "max": 64, "got": "65"},
         "top-k must be between 1 and 64 (got 65)"),
        ("max_new_tokens", "255", ErrorCode.OUT_OF_RANGE, {"min": 1, "max": 254, "got": "255"},
         "max length must be between 1 and 254 (got 255)"),
        ("max_new_tokens", "1.5", ErrorCode.NOT_WHOLE, {"got": "1.5"},
         "max length must be a whole number"),
        ("seed", "-3", ErrorCode.OUT_OF_RANGE, {"min": 0, "max": str(MAX_SEED), "got": "-3"},
         "seed must be between 0 and 18446744073709551615"),
        ("seed", "lucky", ErrorCode.NOT_WHOLE, {"got": "lucky"}, "seed must be a whole number"),
        ("colour", "red", ErrorCode.UNKNOWN_FIELD, {"name": "colour"}, "unknown setting 'colour'"),
    ],
)  # fmt: skip
def test_bad_settings_name_their_field_with_a_code(field, value, code, params, message):
    with pytest.raises(SettingError) as error:
        settings(**{field: value})
    assert error.value.setting == field
    assert (error.value.code, error.value.params) == (code, params)
    assert message in str(error.value)
    assert error.value.to_dict() == {
        "field": field, "code": str(code), "params": params, "message": str(error.value),
    }  # fmt: skip


# --- the page's copy (web/build.py writes it as js/pyshell-settings.js) ----------------------


def test_page_settings_come_from_the_modules_that_own_them():
    page = page_settings()
    assert page["story"]["max_text_chars"] == MAX_TEXT_CHARS == 4000
    assert page["story"]["tones"] == {"en": list(TONES["en"]), "fr": list(TONES["fr"])}
    assert page["story"]["lengths"] == LENGTHS and page["story"]["languages"] == ["en", "fr"]
    assert page["settings"]["temperature"] == {
        "min": 0.0, "max": 2.0, "min_excluded": False, "default": 0.7, "whole": False,
    }  # fmt: skip
    assert page["settings"]["top_p"]["min_excluded"] is True
    assert page["settings"]["seed"]["max"] == "18446744073709551615"  # exact in JavaScript
    assert page["context_margin"] == 2
    assert json.loads(json.dumps(page)) == page  # plain JSON
