"""`python -m export.tools.build_shortlist build|measure`: derive the CPU head's story shortlist.

The full head (262,144 rows) costs ~75 % of a CPU decode step; a French or English
story uses a small part of it. Gemma's ids are not in frequency order
(docs/facts/cpu-kernels.md), so the kept set is chosen by use, from story-like text, by this rule:

1. always: the byte pieces <0x00>..<0xFF> (any text stays writable, byte by
   byte), the control tokens (pad, eos, bos, unk, turn markers), every
   single-character piece of Latin script, digits and punctuation, and every
   piece made only of punctuation and white space;
2. then by score, until the set has `size` tokens. The score adds two shares,
   each normalized to sum 1:
   - word lists: the pieces of the 100,000 most frequent English and French
     words (wordfreq's "best" lists), each as " word", " Word", "word", "Word",
     weighted by the word's frequency and a rough share of each form;
   - the model's own expectation: the float32 reference's next-token
     probabilities summed over every position of its own stories
     (export/data/calibration_stories.txt), so the tokens it *would* write there
     count, not only the ones it sampled.
   Measured on held-out stories (docs/export.md), the mix loses less mass than
   either share alone.

`python -m export.tools.build_shortlist build` applies the rule and writes
export/data/head_shortlist.txt (committed: the exporter reads it through
export/quantize/shortlist.py and needs no word lists).
`python -m export.tools.build_shortlist measure TEXT…` reports the probability mass the
float32 reference puts outside the kept set while reading each text: held-out
human-written stories are the test (docs/export.md has the numbers).
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import sentencepiece as spm

from export.checks.eval_text import tokenize
from export.checks.metrics import log_softmax
from export.model import reference
from export.quantize.shortlist import SHORTLIST_FILE
from export.quantize.smoothing import CALIBRATION_TEXT, STORY_SEPARATOR
from export.sources.loader import source_weights

DEFAULT_SIZE = 81920  # 80 Ki rows: docs/export.md has the size / lost-mass / speed trade
WORDS_PER_LANGUAGE = 100_000
LANGUAGES = ("en", "fr")


def is_latin_char(ch: str) -> bool:
    code = ord(ch)
    return code < 0x250 or 0x1E00 <= code < 0x1F00 or 0x2000 <= code < 0x2070 or ch == "▁"


def is_punctuation_piece(piece: str) -> bool:
    text = piece.replace("▁", " ")
    return bool(text) and all(c.isspace() or unicodedata.category(c)[0] in "PSZ" for c in text)


def required_ids(sp) -> set[int]:
    """Rule 1: the pieces every text may need."""
    ids = set()
    for i in range(sp.get_piece_size()):
        piece = sp.id_to_piece(i)
        if (
            sp.is_byte(i)
            or sp.is_control(i)
            or sp.is_unknown(i)
            or piece in ("<start_of_turn>", "<end_of_turn>")
            or len(piece.replace("▁", "")) <= 1
            and all(is_latin_char(c) for c in piece)
            or is_punctuation_piece(piece)
        ):
            ids.add(i)
    return ids


def word_forms(word: str) -> list[tuple[str, float]]:
    """How a word appears in running text, with a rough share of its uses.

    Mostly after a space; capitalized after a full stop; rarely with no space
    before it (after a quotation mark or at the start of a line).
    """
    forms = {f" {word}": 0.8, f" {word.capitalize()}": 0.15, word: 0.02, word.capitalize(): 0.03}
    return list(forms.items())


def weighted_ids(sp) -> Counter:
    """Rule 2, first share: token weights from the word lists."""
    import wordfreq  # optional: only this builder needs it (pip install -e .[shortlist])

    weights: Counter = Counter()
    for language in LANGUAGES:
        for word in wordfreq.top_n_list(language, WORDS_PER_LANGUAGE, wordlist="best"):
            frequency = wordfreq.word_frequency(word, language, wordlist="best")
            for form, share in word_forms(word):
                for token in sp.encode(form):
                    weights[token] += frequency * share
    return weights


def expected_use(sp, folder: Path) -> np.ndarray:
    """(vocab,) the reference's next-token probabilities summed over its own stories."""
    weights = source_weights(json.loads((folder / "conteur.json").read_text()))
    table = weights.tensors["embed"]  # (vocab, D), the tied head
    total = np.zeros(table.shape[0])
    for text in CALIBRATION_TEXT.read_text().split(STORY_SEPARATOR):
        if not text.strip():
            continue
        ids = [sp.bos_id(), *sp.encode(text.strip())]
        hidden = reference.hidden_states(ids, weights.tensors, weights.config)
        for start in range(0, len(ids), 256):
            logits = (hidden[start : start + 256] @ table.T).astype(np.float64)
            total += np.exp(log_softmax(logits)).sum(axis=0)
    return total


def build(folder: Path, size: int) -> list[int]:
    """Apply the rule with the model folder's tokenizer and source weights (~5 minutes)."""
    sp = spm.SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))
    words = np.zeros(sp.get_piece_size())
    for token, weight in weighted_ids(sp).items():
        words[token] = weight
    use = expected_use(sp, folder)
    score = words / words.sum() + use / use.sum()
    kept = required_ids(sp)
    for token in np.argsort(-score, kind="stable"):
        if len(kept) >= size or score[token] <= 0:
            break
        kept.add(int(token))
    return sorted(kept)


def lost_mass(folder: Path, kept: np.ndarray, text: str) -> dict:
    """Mean and worst probability mass of the float32 reference outside `kept`."""
    config = json.loads((folder / "conteur.json").read_text())
    ids = tokenize(folder, text)
    weights = source_weights(config)
    hidden = reference.hidden_states(ids, weights.tensors, weights.config)
    outside = np.ones(weights.config.vocab_size, bool)
    outside[kept] = False
    masses = []
    for start in range(0, len(ids) - 1, 128):
        logp = log_softmax(
            (hidden[start : start + 128] @ weights.tensors["embed"].T).astype(np.float64)
        )
        masses.append(np.exp(logp[:, outside]).sum(axis=1))
    mass = np.concatenate(masses)[: len(ids) - 1]
    targets_outside = int(np.isin(np.asarray(ids[1:]), kept, invert=True).sum())
    return {
        "tokens": len(ids),
        "kept": len(kept),
        "mean_lost_mass": round(float(mass.mean()), 6),
        "max_lost_mass": round(float(mass.max()), 4),
        "targets_outside": targets_outside,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.tools.build_shortlist")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="apply the rule; write export/data/head_shortlist.txt")
    b.add_argument("--size", type=int, default=DEFAULT_SIZE)
    b.add_argument("--model", type=Path, default=Path("models/gemma-3-270m"))
    b.add_argument("--out", type=Path, default=SHORTLIST_FILE)
    m = sub.add_parser("measure", help="mass outside the kept set on held-out texts")
    m.add_argument("texts", type=Path, nargs="+")
    m.add_argument("--model", type=Path, default=Path("models/gemma-3-270m"))
    m.add_argument("--shortlist", type=Path, default=SHORTLIST_FILE)
    args = parser.parse_args(argv)
    if args.command == "build":
        ids = build(args.model, args.size)
        args.out.write_text("\n".join(map(str, ids)) + "\n")
        print(f"kept {len(ids)} tokens -> {args.out}")
        return 0
    kept = np.asarray([int(x) for x in args.shortlist.read_text().split()], np.int64)
    for text in args.texts:
        print(json.dumps({"text": text.name, **lost_mass(args.model, kept, text.read_text())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
