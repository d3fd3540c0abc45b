"""Which tokens the CPU graph's output head keeps: the committed story shortlist of Gemma 3.

The full head (262,144 rows) costs ~75 % of a CPU decode step; a French or English
story uses a small part of it. export/data/head_shortlist.txt lists the kept ids;
`python -m export.tools.build_shortlist build` derives it (the rule is `RULE`, the
measurements are in docs/export.md). The exporter only reads the list: it needs no
word lists.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHORTLIST_FILE = Path(__file__).resolve().parents[1] / "data" / "head_shortlist.txt"
GEMMA3_VOCAB = 262144
RULE = (
    "story shortlist: byte pieces, control tokens, Latin single characters and punctuation, "
    "then the most used pieces of English and French words and of the model's own stories"
)


def load_shortlist(vocab_size: int) -> np.ndarray | None:
    """The committed kept ids (ascending int64), or None when they do not fit this vocabulary.

    The list is made for Gemma 3's tokenizer; other vocabularies (the tiny test
    models) keep the full head.
    """
    if vocab_size != GEMMA3_VOCAB or not SHORTLIST_FILE.is_file():
        return None
    ids = [int(line) for line in SHORTLIST_FILE.read_text().split() if line.strip()]
    return np.asarray(sorted(ids), np.int64)
