"""The settings' rules, once: each setting's range and default, the token budget, the form.

Every story, in the page, the CLI and the evaluation, takes its settings through
here (pyshell.story.write_story): the sampling settings (`SamplingConfig`, checked
when it is made), the token budget ("1 ≤ max_new_tokens ≤ context − 2", and the
default from the story length) and the reading of the settings form, where
values arrive as typed ("", "0,8"). The page gets the same numbers from
`page_settings()`, which web/build.py writes into the site as js/pyshell-settings.js,
so no range or default is copied into JavaScript.

Mistakes raise `SettingError` (pyshell.errors) naming the field, with a code and
params the page translates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pyshell.errors import ErrorCode, SettingError
from pyshell.prompts import LANGUAGES, LENGTHS, MAX_FIELD_CHARS, MAX_TEXT_CHARS, TONES

__all__ = [
    "CONTEXT_MARGIN",
    "FAMILY_SAFE",
    "MAX_NEW_TOKENS",
    "MAX_SEED",
    "REPETITION_PENALTY",
    "SEED",
    "SETTINGS",
    "SWITCHES",
    "TEMPERATURE",
    "TOP_K",
    "TOP_P",
    "SamplingConfig",
    "Setting",
    "StorySettings",
    "Switch",
    "check_budget",
    "default_budget",
    "page_settings",
    "parse_budget",
    "parse_sampling",
    "parse_settings",
]

MAX_SEED = 2**64 - 1
CONTEXT_MARGIN = 2  # a budget leaves room for BOS and at least one prompt token
_EXACT_IN_JS = 2**53  # larger whole numbers travel to the page as strings
Number = TypeVar("Number", int, float)


def _exact(value: float | None) -> float | str | None:
    """A bound as JSON that JavaScript reads exactly (a 64-bit seed becomes a string)."""
    return str(value) if isinstance(value, int) and abs(value) > _EXACT_IN_JS else value


def _got(value: Any) -> str:
    """The refused value, as text (a seed may exceed JavaScript's exact integers)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Setting:
    """One setting: its form field, its English label, its range and its default.

    `high` None means the model sets it: the graph's candidates (top-k) or the
    context (the budget).
    """

    name: str
    label: str
    low: float
    high: float | None
    default: float | None
    low_excluded: bool = False  # top-p: 0 < p
    whole: bool = False

    def check(self, value: Number, high: float | None = None) -> Number:
        """`value` when it is in range (`high` replaces a bound the model sets)."""
        top = self.high if high is None else high
        above = self.low < value if self.low_excluded else self.low <= value
        if above and (top is None or value <= top):
            return value
        if top is None:
            raise SettingError(
                self.name, ErrorCode.BELOW_MIN, self.label, min=self.low, got=_got(value)
            )
        code = ErrorCode.OUT_OF_RANGE_MIN_EXCLUDED if self.low_excluded else ErrorCode.OUT_OF_RANGE
        raise SettingError(
            self.name, code, self.label, min=self.low, max=_exact(top), got=_got(value)
        )

    def describe(self) -> dict[str, Any]:
        """The setting for the page (page_settings)."""
        return {
            "min": self.low,
            "max": _exact(self.high),
            "min_excluded": self.low_excluded,
            "default": self.default,
            "whole": self.whole,
        }


# 2 is the usual ceiling of sampling UIs; beyond it text turns to noise. 0 is greedy.
# 0.7 beat 0.8 in blind readings of stories (docs/stories.md).
TEMPERATURE = Setting("temperature", "temperature", 0.0, 2.0, 0.7)
# 1 turns nucleus sampling off.
TOP_P = Setting("top_p", "top-p", 0.0, 1.0, 0.95, low_excluded=True)
# 0 is off. Not a form field: the story policy sets it per language (pyshell/story_policy.py).
MIN_P = Setting("min_p", "min-p", 0.0, 1.0, 0.0)
# At most the candidates the graph returns (conteur.json graph.top_k).
TOP_K = Setting("top_k", "top-k", 1, None, 64, whole=True)
# 1 is off; past ~1.5 the model avoids even "the" and "a".
REPETITION_PENALTY = Setting("repetition_penalty", "repetition penalty", 1.0, 2.0, 1.1)
# None draws a fresh seed (reported with the story).
SEED = Setting("seed", "seed", 0, MAX_SEED, None, whole=True)
# At most context − CONTEXT_MARGIN; None follows the story length (default_budget).
MAX_NEW_TOKENS = Setting("max_new_tokens", "max length", 1, None, None, whole=True)

SETTINGS: dict[str, Setting] = {
    s.name: s for s in (TEMPERATURE, TOP_P, REPETITION_PENALTY, MAX_NEW_TOKENS, SEED, TOP_K)
}


@dataclass(frozen=True)
class Switch:
    """A setting that is on or off: the page sends a JSON boolean, the CLI a flag."""

    name: str
    label: str
    default: bool

    def read(self, value: object) -> bool:
        """`value` as typed: missing or "" takes the default; anything but a boolean is refused."""
        if _blank(value):
            return self.default
        if isinstance(value, bool):
            return value
        raise SettingError(
            self.name, ErrorCode.NOT_ONE_OF, self.label, choices=["true", "false"], got=_got(value)
        )

    def describe(self) -> dict[str, Any]:
        """The switch for the page (page_settings)."""
        return {"default": self.default}


# Family-safe stories (pyshell.family_safe): on unless the reader turns it off.
FAMILY_SAFE = Switch("family_safe", "family-safe stories", True)
SWITCHES: dict[str, Switch] = {FAMILY_SAFE.name: FAMILY_SAFE}


# --- values given in code (SamplingConfig, the CLI's parsed options) ---------------------


def _a_number(setting: Setting, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise SettingError(setting.name, ErrorCode.NOT_A_NUMBER, setting.label, got=_got(value))
    return float(value)


def _a_whole(setting: Setting, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingError(setting.name, ErrorCode.NOT_WHOLE, setting.label, got=_got(value))
    return value


@dataclass(frozen=True)
class SamplingConfig:
    """How to choose each next token (pyshell.sampler applies it).

    - temperature: 0 ≤ t ≤ 2. 0 means greedy (always the best candidate);
      lower is safer and more repetitive, higher more surprising.
    - top_k: 1 ≤ k ≤ candidates (64): sample among the k best candidates.
    - top_p: 0 < p ≤ 1: then keep the smallest set of best candidates whose
      probabilities add up to at least p (nucleus sampling).
    - min_p: 0 ≤ m ≤ 1: and drop every candidate less than m times as likely as the
      best one (0: off), so a confident step keeps only its few likely tokens while
      an open one keeps many.
    - repetition_penalty: 1 ≤ r ≤ 2: tokens already seen get their logit
      divided by r (multiplied when negative), as in Hugging Face
      transformers. 1 switches it off. Which tokens count as seen is the
      caller's choice: under the story policy only the story's own, not the
      prompt's (pyshell/story_policy.py, `penalize_prompt`).
    - seed: an integer in 0 … 2**64 - 1 makes the choices reproducible; None
      draws a fresh one (the sampler reports it as `Sampler.seed`).
    """

    temperature: float = TEMPERATURE.default
    top_k: int = TOP_K.default
    top_p: float = TOP_P.default
    min_p: float = MIN_P.default
    repetition_penalty: float = REPETITION_PENALTY.default
    seed: int | None = SEED.default

    def __post_init__(self) -> None:
        TEMPERATURE.check(_a_number(TEMPERATURE, self.temperature))
        TOP_K.check(_a_whole(TOP_K, self.top_k))
        TOP_P.check(_a_number(TOP_P, self.top_p))
        MIN_P.check(_a_number(MIN_P, self.min_p))
        REPETITION_PENALTY.check(_a_number(REPETITION_PENALTY, self.repetition_penalty))
        if self.seed is not None:
            SEED.check(_a_whole(SEED, self.seed))

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def check_candidates(self, available: int) -> None:
        """top_k cannot exceed what the graph returns."""
        TOP_K.check(self.top_k, high=available)


# --- the settings form: values as typed -------------------------------------------------


def _blank(text: object) -> bool:
    return text is None or (isinstance(text, str) and not text.strip())


def read_number(setting: Setting, text: object) -> float | None:
    """A form value as a number: "" is None (the default); "0,8" is read as 0.8."""
    if _blank(text):
        return None
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        try:
            value = float(str(text).strip().replace(",", "."))
        except ValueError:
            raise SettingError(
                setting.name, ErrorCode.NOT_A_NUMBER, setting.label, got=str(text).strip()
            ) from None
    if not math.isfinite(value):
        raise SettingError(setting.name, ErrorCode.NOT_FINITE, setting.label, got=str(text))
    return value


def read_whole(setting: Setting, text: object) -> int | None:
    """A form value as a whole number, exactly (a seed may exceed 2**53); "" is None."""
    if _blank(text):
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    if isinstance(text, float) and text.is_integer():
        return int(text)
    digits = str(text).strip().replace("_", "")
    try:
        return int(digits)
    except ValueError:
        try:
            value = float(digits.replace(",", "."))
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value.is_integer():
            return int(value)
    raise SettingError(setting.name, ErrorCode.NOT_WHOLE, setting.label, got=str(text).strip())


def _refuse_unknown(values: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - set(SETTINGS) - set(SWITCHES))
    if unknown:
        raise SettingError(unknown[0], ErrorCode.UNKNOWN_FIELD, "setting", name=unknown[0])


def parse_sampling(values: Mapping[str, Any], candidates: int | None = None) -> SamplingConfig:
    """The sampling settings of the form; empty fields take the defaults.

    `candidates` (the graph's top_k) caps top-k and is its default; None leaves
    that check to the sampler (the CLI checks its options before the model loads).
    """
    _refuse_unknown(values)

    def number(setting: Setting) -> float:
        value = read_number(setting, values.get(setting.name))
        return setting.default if value is None else value

    top_k = read_whole(TOP_K, values.get("top_k"))
    if top_k is None:
        top_k = TOP_K.default if candidates is None else min(TOP_K.default, candidates)
    sampling = SamplingConfig(
        temperature=number(TEMPERATURE),
        top_k=top_k,
        top_p=number(TOP_P),
        repetition_penalty=number(REPETITION_PENALTY),
        seed=read_whole(SEED, values.get("seed")),
    )
    if candidates is not None:
        sampling.check_candidates(candidates)
    return sampling


def default_budget(length: str, context_length: int) -> int:
    """The story length's budget (pyshell.prompts.LENGTHS), at most half of a small
    model's context: the page, the CLI and the evaluation all default to it."""
    return min(LENGTHS[length], max(1, context_length // 2))


def check_budget(budget: object, context_length: int) -> int:
    """1 ≤ max_new_tokens ≤ context − 2: the prompt keeps BOS and at least one token."""
    if context_length < CONTEXT_MARGIN:
        raise SettingError(
            "context_length", ErrorCode.BELOW_MIN, "the context",
            min=CONTEXT_MARGIN, got=_got(context_length),
        )  # fmt: skip
    return MAX_NEW_TOKENS.check(
        _a_whole(MAX_NEW_TOKENS, budget), high=context_length - CONTEXT_MARGIN
    )


def parse_budget(values: Mapping[str, Any], length: str, context_length: int) -> tuple[int, bool]:
    """The token budget and whether the reader typed it (a typed one is a hard limit)."""
    typed = read_whole(MAX_NEW_TOKENS, values.get("max_new_tokens"))
    if typed is None:
        return default_budget(length, context_length), False
    return check_budget(typed, context_length), True


@dataclass(frozen=True)
class StorySettings:
    """What the settings form decides for one story."""

    sampling: SamplingConfig
    max_new_tokens: int  # the budget
    # Typed by the reader: the story stops there. Otherwise the budget is a target
    # the story may pass to finish its sentence (pyshell.story_policy).
    hard_limit: bool
    family_safe: bool = FAMILY_SAFE.default  # the word lists of pyshell.family_safe apply


def parse_settings(
    values: Mapping[str, Any], length: str, context_length: int, candidates: int
) -> StorySettings:
    """The settings form (values as typed, "" for the defaults) for a story of `length`
    on a model with `context_length` tokens and `candidates` per step."""
    sampling = parse_sampling(values, candidates)
    budget, typed = parse_budget(values, length, context_length)
    return StorySettings(sampling, budget, typed, FAMILY_SAFE.read(values.get(FAMILY_SAFE.name)))


def page_settings() -> dict[str, Any]:
    """The rules the page needs, from the modules that own them (web/build.py writes
    them into the site as js/pyshell-settings.js: `export const SETTINGS = {…};`)."""
    return {
        "story": {
            "max_text_chars": MAX_TEXT_CHARS,
            "max_field_chars": MAX_FIELD_CHARS,
            "lengths": dict(LENGTHS),
            "languages": list(LANGUAGES),
            "tones": {language: list(tones) for language, tones in TONES.items()},
        },
        "settings": {name: setting.describe() for name, setting in SETTINGS.items()},
        "switches": {name: switch.describe() for name, switch in SWITCHES.items()},
        "context_margin": CONTEXT_MARGIN,
    }
