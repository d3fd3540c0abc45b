"""`python -m export.tools.build_word_list fr`: the French words a story may write.

pyshell/known_words.py keeps a French story to words this list holds (docs/stories.md,
"French: known words only"). The list is wordfreq's whole "best" French list (310,816
forms down to one use in a hundred million words), each form also split at its
apostrophes and hyphens, since the rule checks the parts ("l'ours": l, ours;
"peut-être": peut, être). It is the lexicon the made-up-word measure asks
(pyshell/story_measures.py). A cut at Zipf 2 (104,503 forms) was measured first and
dropped: it left out the passé simple of tales ("envolèrent", "chuchota"), and the
stories turned towards reports and notes (docs/stories.md).

Written to pyshell/data/known_words/LANG.txt (committed: the page and the CLI read it
and need no wordfreq), one lower-case form a line, sorted by code point.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

MIN_ZIPF = 0.0  # every form of the list (its rarest have Zipf 1.0)
OUT = Path(__file__).resolve().parents[2] / "pyshell" / "data" / "known_words"
_PARTS = re.compile(r"['’\-]")


def word_list(language: str, min_zipf: float = MIN_ZIPF) -> list[str]:
    """Sorted lower-case forms (and their apostrophe and hyphen parts) at `min_zipf` and above."""
    import wordfreq  # a dev dependency: only this tool needs it

    forms = set()
    for word in wordfreq.top_n_list(language, 10**7, wordlist="best"):
        if min_zipf > 0 and wordfreq.zipf_frequency(word, language, wordlist="best") < min_zipf:
            break  # the list is in frequency order
        word = word.lower().replace("’", "'")
        if not any(c.isalpha() for c in word) or any(c.isdigit() for c in word):
            continue
        forms.add(word)
        forms.update(p for p in _PARTS.split(word) if p)
    return sorted(f for f in forms if all(c.isalpha() for c in f))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("language", choices=["fr"], help="the story language")
    args = parser.parse_args(argv)
    words = word_list(args.language)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{args.language}.txt"
    path.write_text("".join(f"{w}\n" for w in words), encoding="utf-8")
    print(f"{len(words):,} forms -> {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
