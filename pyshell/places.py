"""The preposition a story's setting takes: "in a small village", "on a rocky island", "sur une île".

The reader types a setting as a noun phrase ("a rocky island", "une petite île")
or with its own preposition ("under the sea", "sous la mer", kept as typed).
The opening (pyshell/prompts.py) then needs the preposition that phrase takes,
which its head noun decides: a village, a forest or a city is something one is
*in*, an island, a beach, a mountain or a ship something one is *on* ("in a
rocky island", "in a frozen lake" read wrong), a pole or an edge somewhere one
is *at*. French: "dans un village", but "sur une île", "sur un bateau", "au pôle
Sud", "à bord d'une station spatiale". Unknown nouns take the usual "in" / "dans".
"""

from __future__ import annotations

from pyshell.characters import head_noun, words

__all__ = ["place_en", "place_fr"]

# fmt: off
EN_PREPOSITIONS = frozenset({
    "in", "on", "at", "under", "near", "inside", "beyond", "by", "across", "above", "below",
    "behind", "between", "among", "within", "upon", "over", "outside", "underneath", "around",
    "along", "beneath", "far", "deep", "high",
})
FR_PREPOSITIONS = frozenset({
    "dans", "sur", "sous", "à", "au", "aux", "en", "près", "chez", "parmi", "entre", "derrière",
    "devant", "vers", "loin", "par-delà", "au-delà", "au-dessus", "au-dessous",
})
# Words after which an English noun phrase's head is over: "a ship *far* out at sea".
_EN_AFTER_HEAD = EN_PREPOSITIONS | {
    "of", "where", "with", "that", "which", "who", "whose", "full", "during", "after",
    "before", "called", "named", "from", "to",
}
# Surfaces, heights and vehicles: one is on them.
_EN_ON = frozenset({
    "island", "islet", "isle", "mountain", "mountainside", "hill", "hilltop", "farm", "beach",
    "shore", "coast", "ship", "boat", "raft", "train", "plane", "lake", "river", "sea", "ocean",
    "planet", "moon", "star", "cloud", "iceberg", "glacier", "bridge", "roof", "rooftop",
    "space station", "spaceship", "meadow", "plain", "prairie", "street",
})
_EN_AT = frozenset({"pole", "edge", "top", "end", "bottom", "foot"})
_FR_SUR = frozenset({
    "île", "îlot", "plage", "montagne", "colline", "navire", "bateau", "radeau", "lac", "mer",
    "océan", "planète", "lune", "étoile", "nuage", "banquise", "glacier", "pont", "toit",
    "rive", "côte", "prairie",
})
_FR_A = frozenset({"pôle", "bord", "sommet", "bout", "pied", "cœur", "fond"})
_FR_ABOARD = frozenset({"station", "vaisseau", "fusée", "sous-marin"})
# fmt: on
_FR_ARTICLE_AFTER_A = {"le": "au ", "les": "aux ", "la": "à la ", "l'": "à l'"}
_FR_ARTICLE_AFTER_DE = {"le": "du ", "les": "des ", "la": "de la ", "l'": "de l'"}


def _first_word(text: str) -> str:
    return text.split(" ", 1)[0].lower().strip(",.;:")


def _en_head(setting: str) -> tuple[str, str]:
    """(head noun, head noun with the word before it), lower case: "a ship far out at sea"
    → ("ship", "a ship"); "a space station" → ("station", "space station")."""
    phrase: list[str] = []
    for word in words(setting):
        if word in _EN_AFTER_HEAD and phrase:
            break
        phrase.append(word)
    if not phrase:
        return "", ""
    return phrase[-1], " ".join(phrase[-2:])


def place_en(setting: str) -> str:
    """ "a small village" → "in a small village", "a rocky island" → "on a rocky island",
    "the South Pole" → "at the South Pole"; "under the sea" stays as written."""
    if _first_word(setting) in EN_PREPOSITIONS:
        return setting
    head, pair = _en_head(setting)
    if head in _EN_ON or pair in _EN_ON:
        return f"on {setting}"
    if head in _EN_AT:
        return f"at {setting}"
    return f"in {setting}"


def _fr_with(preposition: dict[str, str], setting: str, plain: str) -> str:
    """ "à" or "de" before the setting, merged with its article: "au pôle Sud", "d'une station"."""
    first = _first_word(setting)
    if first.startswith(("l'", "l’")):
        return preposition["l'"] + setting[2:]
    if first in preposition:
        return preposition[first] + setting.split(" ", 1)[1]
    return plain + setting


def place_fr(setting: str) -> str:
    """ "un petit village" → "dans un petit village", "une île" → "sur une île",
    "le pôle Sud" → "au pôle Sud", "une station spatiale" → "à bord d'une station
    spatiale"; "sous la mer" stays as written."""
    if _first_word(setting) in FR_PREPOSITIONS:
        return setting
    head = head_noun(setting[2:] if setting[:2].lower() in ("l'", "l’") else setting, "fr")
    if head in _FR_SUR:
        return f"sur {setting}"
    if head in _FR_A:
        return _fr_with(_FR_ARTICLE_AFTER_A, setting, "à ")
    if head in _FR_ABOARD:
        vowel = setting[:1].lower() in "aeiouyéèêàâîôû"
        return "à bord " + _fr_with(_FR_ARTICLE_AFTER_DE, setting, "d'" if vowel else "de ")
    return f"dans {setting}"
