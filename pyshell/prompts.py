"""Turn the page's story form into the text the model continues.

Two kinds of model want two kinds of prompt:
- a pretrained model (the default, google/gemma-3-270m) only continues text,
  so the prompt is the story's own first words: an optional heading naming
  the tone and theme, then an opening ("Once upon a time, in …, there lived …").
- an instruction-tuned model follows a request written as a Gemma chat turn:
  `<start_of_turn>user\\n…<end_of_turn>\\n<start_of_turn>model\\n`. The
  tokenizer adds BOS when it encodes the prompt, so none is written here.

English and French prompts are written in their own language, since the
model answers in the language it is addressed in.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, fields

from pyshell.characters import character_name, head_noun
from pyshell.errors import ErrorCode, StoryRequestError
from pyshell.places import place_en, place_fr

__all__ = [
    "DEFAULT_FRAME",
    "FRAMES",
    "LANGUAGES",
    "LENGTHS",
    "MAX_FIELD_CHARS",
    "MAX_TEXT_CHARS",
    "TONES",
    "StoryRequest",
    "StoryRequestError",
    "build_prompt",
    "character_in_sentence",
    "surprise",
]

LANGUAGES = ("en", "fr")
# How the heading presents the story (story_opening): blind readings chose "bedtime"
# (docs/stories.md).
FRAMES = ("plain", "bedtime")
DEFAULT_FRAME = "bedtime"
# Most new tokens per length (about 1.4 tokens per English word).
LENGTHS = {"short": 160, "medium": 320, "long": 640}
MAX_FIELD_CHARS = 200  # character, setting, theme, tone: a phrase, not a text
MAX_TEXT_CHARS = 4000  # free text: about 1,000 tokens, well inside the context
START_OF_TURN, END_OF_TURN = "<start_of_turn>", "<end_of_turn>"
_TURN_MARKERS = re.compile(re.escape(START_OF_TURN) + "|" + re.escape(END_OF_TURN))


def without_turn_markers(text: str) -> str:
    """`text` with every chat-turn marker removed, until none is left: removing one
    must not join its neighbours into another ("<start_of<end_of_turn>_turn>")."""
    while True:
        cleaned = _TURN_MARKERS.sub("", text)
        if cleaned == text:
            return text
        text = cleaned


def _clean(value: object, name: str, limit: int, multiline: bool) -> str:
    """Stripped text with chat-turn markers removed (a user cannot open a new turn).

    One-line fields also collapse whitespace runs, newlines included.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise StoryRequestError(name, ErrorCode.NOT_TEXT, type=type(value).__name__)
    text = without_turn_markers(value.replace("\r\n", "\n"))
    text = text.strip() if multiline else " ".join(text.split())
    if len(text) > limit:
        raise StoryRequestError(name, ErrorCode.TOO_LONG, length=len(text), limit=limit)
    return text


def _one_of(name: str, value: object, choices: tuple[str, ...] | dict[str, int]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise StoryRequestError(name, ErrorCode.NOT_ONE_OF, choices=list(choices), got=str(value))


@dataclass(frozen=True)
class StoryRequest:
    """What the reader asked for. Every field is optional, but at least one of
    character, setting, theme, tone or text must say something."""

    character: str = ""  # "a curious fox", "Mira, a young inventor"
    setting: str = ""  # "a small village by the sea" (or "under the sea")
    theme: str = ""  # "friendship"
    tone: str = ""  # "funny"
    length: str = "medium"  # short, medium or long
    language: str = "en"  # en or fr
    text: str = ""  # free text: the story's first words, or guidance

    def __post_init__(self) -> None:
        for name in ("character", "setting", "theme", "tone"):
            object.__setattr__(
                self, name, _clean(getattr(self, name), name, MAX_FIELD_CHARS, False)
            )
        object.__setattr__(self, "text", _clean(self.text, "text", MAX_TEXT_CHARS, True))
        _one_of("length", self.length, LENGTHS)
        _one_of("language", self.language, LANGUAGES)
        if not (self.character or self.setting or self.theme or self.tone or self.text):
            raise StoryRequestError("text", ErrorCode.NOTHING_TO_GO_ON)

    @classmethod
    def from_dict(cls, data: dict) -> StoryRequest:
        """From the page's form (a JSON-like dict); unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise StoryRequestError(
                unknown[0], ErrorCode.UNKNOWN_FIELD, "story field", name=unknown[0]
            )
        return cls(**{k: v for k, v in data.items() if v is not None})

    @property
    def max_new_tokens(self) -> int:
        return LENGTHS[self.length]


# --- pretrained: the story's first words ---------------------------------------------

# fmt: off
_EN_DETERMINERS = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "my", "your", "his", "her", "its",
    "our", "their", "some", "any", "one", "two", "three", "four", "five", "six", "seven",
    "eight", "nine", "ten", "several", "many", "few", "every", "each", "no", "another",
})
# fmt: on


def _first_word(text: str) -> str:
    return text.split(" ", 1)[0].lower().strip(",.;:")


def _with_article(noun_phrase: str) -> str:
    """ "dragon" → "a dragon", "owl" → "an owl"; names and determined phrases unchanged."""
    if not noun_phrase or not noun_phrase[0].isalpha() or noun_phrase[0].isupper():
        return noun_phrase
    if _first_word(noun_phrase) in _EN_DETERMINERS:
        return noun_phrase
    lower = noun_phrase.lower()
    vowel_sound = lower[0] in "aeiou" and not lower.startswith(("uni", "use", "usu", "eu", "one"))
    vowel_sound = vowel_sound or lower.startswith(("hour", "honest", "honour", "honor", "heir"))
    return ("an " if vowel_sound else "a ") + noun_phrase


def _sentence(text: str) -> str:
    """End a phrase with a full stop unless it already ends with punctuation."""
    return text if text[-1] in ".!?…" else text + "."


def _heading_en(r: StoryRequest, frame: str) -> str:
    """ "A funny story about a curious fox and friendship." Naming the character in the
    heading keeps the story about it (docs/stories.md measures how often it comes back).
    The bedtime frame says who the story is for: "A funny bedtime story for children
    about …". A request of free text alone has no heading in either frame: the
    reader's own first words are the prompt, as typed."""
    subjects = [s for s in (_with_article(r.character) if r.character else "", r.theme) if s]
    about = " about " + " and ".join(subjects) if subjects else ""
    story = " bedtime story for children" if frame == "bedtime" else " story"
    if r.tone:
        # A tone is an adjective: always give it an article, even if typed capitalised.
        phrase = _with_article(r.tone[0].lower() + r.tone[1:])
        return _sentence(phrase[0].upper() + phrase[1:] + story + about)
    return _sentence("A" + story + about) if subjects else ""


def _feminine_or_epicene(tone: str) -> bool:
    """French adjectives in their feminine form, or the same in both genders, end in -e(s):
    "mystérieuse", "drôle", "pleine d'aventures"; masculine-only forms never do."""
    return tone.split(" ", 1)[0].lower().rstrip("s").endswith("e")


def _heading_fr(r: StoryRequest, frame: str) -> str:
    """The tone is written as the reader typed it, so the noun takes its gender:
    "Une histoire mystérieuse", but "Un conte mystérieux", never "Une histoire mystérieux".
    The bedtime frame: "Une histoire drôle pour enfants, à lire le soir, sur …"."""
    subjects = [s for s in (r.character, r.theme) if s]
    bedtime = frame == "bedtime"
    if not (r.tone or subjects):
        return ""
    noun = "Un conte" if r.tone and not _feminine_or_epicene(r.tone) else "Une histoire"
    tone = f" {r.tone[0].lower() + r.tone[1:]}" if r.tone else ""
    audience = " pour enfants, à lire le soir" if bedtime else ""
    about = (", sur " if bedtime else " sur ") + " et ".join(subjects) if subjects else ""
    return _sentence(noun + tone + audience + about)


def _opening_en(r: StoryRequest) -> str:
    place = place_en(r.setting) if r.setting else ""
    who = _with_article(r.character) if r.character else ""
    if place and who:
        return f"Once upon a time, {place}, there lived {who}."
    if who:
        return f"Once upon a time, there lived {who}."
    if place:
        return f"Once upon a time, {place},"
    return "" if r.text else "Once upon a time,"


def _opening_fr(r: StoryRequest) -> str:
    place = place_fr(r.setting) if r.setting else ""
    who = r.character
    if place and who:
        return f"Il était une fois, {place}, {who}."
    if who:
        return f"Il était une fois {who}."
    if place:
        return f"Il était une fois, {place},"
    return "" if r.text else "Il était une fois"


# The article that names the character again, by the determiner the reader wrote: a
# number or any plural determiner gives "Les" ("deux royaumes rivaux" → "Les royaumes",
# not "Le royaumes"); a possessive whose gender it does not show is kept ("notre
# maîtresse" → "Notre maîtresse").
_FR_ARTICLES = {
    "un": "Le", "le": "Le", "mon": "Le", "ton": "Le", "son": "Le", "ce": "Le", "cet": "Le",
    "une": "La", "la": "La", "ma": "La", "ta": "La", "sa": "La", "cette": "La",
    "notre": "Notre", "votre": "Votre", "leur": "Leur",
    **dict.fromkeys(
        ("des", "les", "mes", "tes", "ses", "nos", "vos", "leurs", "ces", "plusieurs",
         "quelques", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"),
        "Les",
    ),
}  # fmt: skip
_FR_VOWELS = tuple("aeiouyàâéèêëîïôûù")
# Words with a mute h take "l'" like a vowel; every other h is aspirated ("le hérisson").
_FR_MUTE_H = ("homme", "horloger", "habitant", "hôte", "hirondelle", "herboriste", "humain")


def _again_en(r: StoryRequest) -> str:
    """The character named again to open the next sentence: "Mira", "The keeper"."""
    name = character_name(r.character)
    if name:
        return name
    noun = head_noun(r.character, "en")
    return f"The {noun}" if noun else ""


def _again_fr(r: StoryRequest) -> str:
    """ "Mira", "Le gardien", "La souris", "Les jumeaux", "L'horloger"."""
    name = character_name(r.character)
    if name:
        return name
    noun = head_noun(r.character, "fr")
    if not noun:
        return ""
    article = _FR_ARTICLES.get(r.character.split(" ", 1)[0].lower(), "Le")
    if article in ("Le", "La") and noun.startswith(_FR_VOWELS + _FR_MUTE_H):
        return f"L'{noun}"
    return f"{article} {noun}"


def character_in_sentence(r: StoryRequest) -> str:
    """The character named again inside a sentence, after "One day,": "Mira", "the
    keeper", "le renard", "l'horloger"; "" without a character."""
    if not r.character:
        return ""
    again = _again_en(r) if r.language == "en" else _again_fr(r)
    if not again or character_name(r.character):
        return again
    return again[0].lower() + again[1:]


def story_opening(r: StoryRequest, frame: str = DEFAULT_FRAME) -> str:
    """The pretrained model's prompt: heading, blank line, opening, then free text.

    Free text continues the opening (or is the opening when no character or
    setting is given), so it reads best written as the story's first words.
    Without free text, the opening ends by naming the character again ("… there
    lived a clumsy wizard. The wizard"), so the story goes on about it: measured
    with `python -m pyshell.evaluate` (docs/stories.md). `frame` is one of
    FRAMES: "plain" headings, or "bedtime" ones that say the story is for children.
    """
    if frame not in FRAMES:
        raise ValueError(f"unknown story frame {frame!r}: expected one of {', '.join(FRAMES)}")
    english = r.language == "en"
    heading = _heading_en(r, frame) if english else _heading_fr(r, frame)
    opening = _opening_en(r) if english else _opening_fr(r)
    again = "" if r.text or not r.character else _again_en(r) if english else _again_fr(r)
    body = " ".join(part for part in (opening, r.text or again) if part)
    return f"{heading}\n\n{body}" if heading else body


# --- instruction-tuned: a request in a chat turn -------------------------------------

_REQUEST = {
    "en": {
        "ask": {
            "short": "Write a short story in English (about 100 words).",
            "medium": "Write a story in English (about 200 words).",
            "long": "Write a long story in English (about 400 words).",
        },
        "character": "Main character: ",
        "setting": "Setting: ",
        "theme": "Theme: ",
        "tone": "Tone: ",
    },
    "fr": {
        "ask": {
            "short": "Écris une histoire courte en français (environ 100 mots).",
            "medium": "Écris une histoire en français (environ 200 mots).",
            "long": "Écris une longue histoire en français (environ 400 mots).",
        },
        "character": "Personnage principal : ",
        "setting": "Lieu : ",
        "theme": "Thème : ",
        "tone": "Ton : ",
    },
}


def story_request_message(r: StoryRequest) -> str:
    """The user's message: one line per given field, free text last.

    Labelled lines ("Setting: …") need no grammar around the reader's words,
    which keeps them correct in both languages whatever was typed.
    """
    words = _REQUEST[r.language]
    lines = [words["ask"][r.length]]
    for name in ("character", "setting", "theme", "tone"):
        value = getattr(r, name)
        if value:
            lines.append(words[name] + _sentence(value))
    if r.text:
        lines.append(r.text)
    return "\n".join(lines)


def chat_prompt(message: str) -> str:
    """One Gemma user turn and the opening of the model's turn (no BOS: the encoder adds it)."""
    return f"{START_OF_TURN}user\n{message}{END_OF_TURN}\n{START_OF_TURN}model\n"


def build_prompt(
    request: StoryRequest, variant: str = "pretrained", frame: str = DEFAULT_FRAME
) -> str:
    """The prompt text for a model of `variant` (ModelConfig.variant); a pretrained
    model's opening is written in `frame` (FRAMES)."""
    if variant == "pretrained":
        return story_opening(request, frame)
    if variant == "instruction-tuned":
        return chat_prompt(story_request_message(request))
    raise ValueError(f"unknown model variant {variant!r}: expected pretrained or instruction-tuned")


# --- "surprise me" -------------------------------------------------------------------

# Parallel lists: the same seed gives the same idea in either language.
_CHARACTERS = {
    "en": (
        "a curious fox", "an old lighthouse keeper", "a little robot who wanted to paint",
        "a shy dragon", "a girl named Mira", "a clumsy wizard", "a talking teapot",
        "a brave mouse", "a lonely giant", "twin brothers who never agreed",
        "a retired pirate", "a cat who could read",
    ),
    "fr": (
        "un renard curieux", "un vieux gardien de phare", "un petit robot qui voulait peindre",
        "un dragon timide", "une fille nommée Mira", "un magicien maladroit",
        "une théière qui parlait", "une souris courageuse", "un géant solitaire",
        "des jumeaux qui n'étaient jamais d'accord", "un pirate à la retraite",
        "un chat qui savait lire",
    ),
}  # fmt: skip
_SETTINGS = {
    "en": (
        "a small village by the sea", "a forest where the trees whispered",
        "a city above the clouds", "an old library", "a snowy mountain", "a busy market",
        "a garden behind a castle", "a ship far out at sea", "an oasis in the desert",
        "a town where it always rained",
    ),
    "fr": (
        "un petit village au bord de la mer", "une forêt où les arbres chuchotaient",
        "une ville au-dessus des nuages", "une vieille bibliothèque", "une montagne enneigée",
        "un marché animé", "un jardin derrière un château", "un navire au large",
        "une oasis au milieu du désert", "une ville où il pleuvait toujours",
    ),
}  # fmt: skip
_THEMES = {
    "en": (
        "friendship", "courage", "kindness", "a lost treasure", "an unexpected journey",
        "keeping a promise", "learning something new", "a secret",
    ),
    "fr": (
        "l'amitié", "le courage", "la gentillesse", "un trésor perdu", "un voyage inattendu",
        "une promesse tenue", "l'envie d'apprendre", "un secret",
    ),
}  # fmt: skip
# French tones agree with "une histoire" (feminine). The page suggests them (page_settings).
TONES = {
    "en": ("funny", "gentle", "adventurous", "mysterious", "heartwarming", "magical"),
    "fr": ("drôle", "douce", "pleine d'aventures", "mystérieuse", "émouvante", "magique"),
}


def surprise(seed: int | None = None, language: str = "en", length: str = "medium") -> StoryRequest:
    """A random character, setting, theme and tone: the page's "surprise me".

    A given seed always gives the same idea (in either language).
    """
    _one_of("language", language, LANGUAGES)
    rng = random.Random(seed)
    pick = {
        name: rng.randrange(len(lists["en"]))
        for name, lists in (
            ("character", _CHARACTERS), ("setting", _SETTINGS), ("theme", _THEMES),
            ("tone", TONES),
        )
    }  # fmt: skip
    return StoryRequest(
        character=_CHARACTERS[language][pick["character"]],
        setting=_SETTINGS[language][pick["setting"]],
        theme=_THEMES[language][pick["theme"]],
        tone=TONES[language][pick["tone"]],
        length=length,
        language=language,
    )
