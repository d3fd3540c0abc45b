"""Pronoun ids (pyshell/pronouns.py) on the real tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyshell.pronouns import pronoun_ids

TOKENIZER = Path(__file__).resolve().parent.parent / "models" / "gemma-3-270m" / "tokenizer.model"


@pytest.mark.skipif(not TOKENIZER.is_file(), reason="needs the exported Gemma tokenizer")
def test_pronoun_ids_on_gemma():
    from pyshell.tokenizer import Tokenizer

    tokenizer = Tokenizer.from_file(TOKENIZER)
    ids = pronoun_ids(tokenizer)
    pieces = {tokenizer.id_to_piece(i) for i in ids}
    assert {"▁he", "▁she", "▁He", "▁She", "▁il", "▁elle", "▁Il", "▁Elle", "▁his"} <= pieces
    assert len(ids) == 120
    assert not {"▁the", "▁hen", "▁Helen", "▁île"} & pieces
