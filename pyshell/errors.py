"""What pyshell tells a reader, as stable codes: every error and notice it reports.

Each report carries a `code` (an `ErrorCode`), `params` (plain numbers and
strings) and its English `message`. The page shows the code through its own
locale entry `pyshell.<code>` with the params (web/static/js/pyshell-codes.js),
so rewording an English message never changes another language; the terminal
(`python -m pyshell`) prints the message.

The English sentence of each code is written once, below; its `{placeholders}`
are the code's params (plus `label`, the field's English name, which stays out
of the params: the page names fields in its own words). Numbers beyond
JavaScript's exact integers (a 64-bit seed) travel as strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from string import Formatter
from typing import Any

__all__ = [
    "PARAMS",
    "ContextFullError",
    "EmptyPromptError",
    "ErrorCode",
    "FieldError",
    "Notice",
    "PyshellError",
    "SettingError",
    "StoryRequestError",
    "english",
]


class ErrorCode(StrEnum):
    """Every code pyshell reports; the page has a locale entry `pyshell.<code>` for each."""

    # the story form (pyshell.prompts)
    NOTHING_TO_GO_ON = "nothing_to_go_on"
    TOO_LONG = "too_long"
    NOT_TEXT = "not_text"
    NOT_ONE_OF = "not_one_of"
    UNKNOWN_FIELD = "unknown_field"
    UNSUITABLE_WORDS = "unsuitable_words"  # pyshell.family_safe
    # the settings (pyshell.settings)
    NOT_A_NUMBER = "not_a_number"
    NOT_FINITE = "not_finite"
    NOT_WHOLE = "not_whole"
    OUT_OF_RANGE = "out_of_range"
    OUT_OF_RANGE_MIN_EXCLUDED = "out_of_range_min_excluded"
    BELOW_MIN = "below_min"
    # writing the story (pyshell.generate, pyshell.runner, pyshell.browser)
    EMPTY_PROMPT = "empty_prompt"
    CONTEXT_FULL = "context_full"
    NOT_LOADED = "not_loaded"
    TOKENIZER_MISMATCH = "tokenizer_mismatch"
    MODEL_CONFIG = "model_config"
    # notices: the story goes on
    PROMPT_CUT = "prompt_cut"


# The English sentence of each code. {label} is the field's English name.
_ENGLISH: dict[ErrorCode, str] = {
    ErrorCode.NOTHING_TO_GO_ON: "there is nothing to go on: give a character, a setting, a theme, "
    "a tone or the story's first words",
    ErrorCode.TOO_LONG: "{label} is {length} characters long; the most is {limit}",
    ErrorCode.NOT_TEXT: "{label} must be text (got {type})",
    ErrorCode.NOT_ONE_OF: "{label} must be one of {choices} (got {got})",
    ErrorCode.UNKNOWN_FIELD: "unknown {label} {name!r}",
    ErrorCode.UNSUITABLE_WORDS: "{label} holds {words}, which family-safe stories leave out: "
    "say it another way, or turn family-safe stories off",
    ErrorCode.NOT_A_NUMBER: "{label} must be a number (got {got})",
    ErrorCode.NOT_FINITE: "{label} must be a finite number (got {got})",
    ErrorCode.NOT_WHOLE: "{label} must be a whole number (got {got})",
    ErrorCode.OUT_OF_RANGE: "{label} must be between {min} and {max} (got {got})",
    ErrorCode.OUT_OF_RANGE_MIN_EXCLUDED: "{label} must be greater than {min} and at most {max} "
    "(got {got})",
    ErrorCode.BELOW_MIN: "{label} must be at least {min} (got {got})",
    ErrorCode.EMPTY_PROMPT: "the prompt is empty: give the story a beginning or a subject",
    ErrorCode.CONTEXT_FULL: "{cached} cached + {new} new tokens exceed the {context}-token context",
    ErrorCode.NOT_LOADED: "the model is not loaded yet",
    ErrorCode.TOKENIZER_MISMATCH: "the tokenizer has {tokenizer} pieces but the model only "
    "{model}: the files come from different exports",
    ErrorCode.MODEL_CONFIG: "{detail}",
    ErrorCode.PROMPT_CUT: "The prompt is {length} tokens long but only {room} fit with {budget} "
    "new tokens in the model's {context}-token context: the story continues from its last "
    "{kept} tokens.",
}


def _placeholders(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in Formatter().parse(template) if name)


# The params of each code: the placeholders of its sentence, but the label.
PARAMS: dict[ErrorCode, frozenset[str]] = {
    code: _placeholders(text) - {"label"} for code, text in _ENGLISH.items()
}


def _shown(value: Any) -> Any:
    """A param as the English sentence writes it: 4,000 and 0.5; text and lists as text."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


def english(code: ErrorCode, label: str = "", **params: Any) -> str:
    """The English sentence of `code` with `params`; refuses params the code does not have."""
    if set(params) != PARAMS[code]:
        raise TypeError(f"{code} takes the params {sorted(PARAMS[code])}, got {sorted(params)}")
    return _ENGLISH[code].format(label=label, **{k: _shown(v) for k, v in params.items()})


class PyshellError(ValueError):
    """A mistake or failure the reader can act on: a code, its params and the English text."""

    def __init__(self, code: ErrorCode, label: str = "", **params: Any) -> None:
        super().__init__(english(code, label, **params))
        self.code = code
        self.params = params

    def to_dict(self) -> dict[str, Any]:
        """What the page receives: {"code", "params", "message"}."""
        return {"code": str(self.code), "params": self.params, "message": str(self)}


class FieldError(PyshellError):
    """A form field's value is refused; `field` names it so the page can point at it."""

    def __init__(self, field: str, code: ErrorCode, label: str = "", **params: Any) -> None:
        super().__init__(code, label or field, **params)
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, **super().to_dict()}


class StoryRequestError(FieldError):
    """A story form field is invalid (pyshell.prompts)."""


class SettingError(FieldError):
    """A sampling or generation setting is refused (pyshell.settings)."""

    @property
    def setting(self) -> str:
        return self.field


class EmptyPromptError(PyshellError):
    """The prompt has nothing in it to continue."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.EMPTY_PROMPT)


class ContextFullError(PyshellError):
    """A step would make the sequence longer than the runner's context."""

    def __init__(self, cached: int, new: int, context: int) -> None:
        super().__init__(ErrorCode.CONTEXT_FULL, cached=cached, new=new, context=context)


@dataclass(frozen=True)
class Notice:
    """Something the reader should know while the story goes on (e.g. the prompt was cut)."""

    code: ErrorCode
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        english(self.code, **self.params)  # the params must be the code's

    @property
    def message(self) -> str:
        return english(self.code, **self.params)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "params": self.params, "message": self.message}
