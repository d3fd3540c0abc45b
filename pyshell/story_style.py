"""How Conteur writes a story beyond the reader's settings: the frame, the exemplar,
sampling per language, the story-length and break-out rules.

The reader's form sets character, setting, theme, tone, length and language, and
the advanced settings may override temperature and top-p. Everything else that
decides what the story says is one `StoryStyle`, so the page, the CLI and the
evaluation write under the same one, and the evaluation can measure another
(`python -m pyshell.evaluate --style temperature_fr=0.6`). `STORY_STYLE` is the
configuration docs/stories.md chose by measuring.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from pyshell.characters import character_words
from pyshell.exemplars import exemplar_prefix, words_to_avoid
from pyshell.prompts import DEFAULT_FRAME, FRAMES, StoryRequest
from pyshell.sampler import SamplingConfig

__all__ = ["STORY_STYLE", "StoryStyle"]


@dataclass(frozen=True)
class StoryStyle:
    """One configuration of everything the reader does not choose.

    - frame: the heading's frame (pyshell.prompts.FRAMES);
    - temperature_en/fr, top_p_en/fr: sampling defaults per story language (a
      value the reader types in the advanced settings wins);
    - repetition_penalty: on the story's own tokens (pyshell.story_policy);
    - min_length: fraction of the budget before which the story may not end
      (pyshell.story_policy.StoryPolicy.min_length);
    - breaks: the break-out rule (pyshell/story_breaks.py);
    - no_repeat_ngram: n > 0 never lets the story repeat a sequence of n of its own
      tokens (pyshell.story_policy); the guard against loops at lower temperatures;
    - ngram_repeats: how often such an n-gram may occur (2: never a third time);
    - penalize_character: False keeps the words that name the character out of the
      repetition penalty;
    - hold_paragraphs: with `breaks`, hold each paragraph's first sentence back and
      end the story before it when it leaves the story (pyshell/story_breaks.py);
    - penalize_pronouns_en/fr: False keeps pronouns out of the repetition penalty
      (pyshell/pronouns.py);
    - exemplar: whether the model reads a short children's story first
      (pyshell/exemplars.py; its KV cache is kept between stories);
    - best_of: n > 1 writes each sentence as the likeliest of n samples
      (pyshell/best_of.py; n times the decoding work).
    """

    frame: str = DEFAULT_FRAME
    temperature_en: float = 0.8
    temperature_fr: float = 0.8
    top_p_en: float = 0.95
    top_p_fr: float = 0.95
    repetition_penalty: float = 1.1
    min_length: float = 0.0
    breaks: bool = False
    no_repeat_ngram: int = 0
    ngram_repeats: int = 1
    penalize_character: bool = True
    hold_paragraphs: bool = False
    penalize_pronouns_en: bool = True
    penalize_pronouns_fr: bool = True
    exemplar: bool = False
    best_of: int = 1

    def __post_init__(self) -> None:
        if self.frame not in FRAMES:
            raise ValueError(f"unknown frame {self.frame!r}: expected one of {', '.join(FRAMES)}")
        if self.best_of < 1:
            raise ValueError(f"best_of is a number of samples, at least 1 (got {self.best_of})")
        if not 0.0 <= self.min_length < 1.0:
            raise ValueError(f"min_length is a fraction of the budget (got {self.min_length})")
        self.sampling("en"), self.sampling("fr")  # range checks (SettingError)

    def sampling(self, language: str, **overrides: object) -> SamplingConfig:
        """The sampling defaults for a story in `language`; `overrides` (temperature,
        top_p, …, seed) win."""
        french = language == "fr"
        config = SamplingConfig(
            temperature=self.temperature_fr if french else self.temperature_en,
            top_p=self.top_p_fr if french else self.top_p_en,
            repetition_penalty=self.repetition_penalty,
        )
        return replace(config, **overrides) if overrides else config

    def policy_options(self, request: StoryRequest) -> dict:
        """The keyword arguments of pyshell.story_policy.story_policy for a story of
        `request` in this style (plain values, so the page can report them)."""
        fields = (request.character, request.setting, request.theme, request.tone, request.text)
        avoid = words_to_avoid(request.language, " ".join(fields)) if self.prefix(request) else ()
        return {
            "min_length": self.min_length,
            "breaks": self.breaks,
            "no_repeat_ngram": self.no_repeat_ngram,
            "ngram_repeats": self.ngram_repeats,
            "unpenalized_words": []
            if self.penalize_character
            else sorted(character_words(request.character, request.language)),
            "hold_paragraphs": self.hold_paragraphs,
            "language": request.language,
            "penalize_pronouns": self.penalize_pronouns_fr
            if request.language == "fr"
            else self.penalize_pronouns_en,
            "avoid_words": list(avoid),
        }

    def prefix(self, request: StoryRequest) -> str:
        """The text the model reads before the prompt ("" for none): the exemplar, for a
        request Conteur frames (a character, setting, theme or tone). Free text alone
        is the reader's own opening, continued as typed, with nothing before it."""
        framed = request.character or request.setting or request.theme or request.tone
        return exemplar_prefix(request.language, self.frame) if self.exemplar and framed else ""

    def with_settings(self, settings: list[str]) -> StoryStyle:
        """This style with "name=value" settings applied (numbers, true/false, text)."""
        types = {f.name: f.type for f in fields(self)}
        changes: dict[str, object] = {}
        for setting in settings:
            name, sep, text = setting.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in types:
                raise ValueError(
                    f"unknown style setting {setting!r}: expected NAME=VALUE with NAME one of "
                    f"{', '.join(types)}"
                )
            kind = types[name]
            if kind == "bool":
                changes[name] = text.strip().lower() in ("1", "true", "yes", "on")
            elif kind == "float":
                changes[name] = float(text)
            elif kind == "int":
                changes[name] = int(text)
            else:
                changes[name] = text.strip()
        return replace(self, **changes)

    def describe(self) -> dict:
        """Plain values for JSON (the evaluation's settings)."""
        return asdict(self)


STORY_STYLE = StoryStyle()
