"""Pronoun ids (pyshell/pronouns.py) on the real tokenizer."""

from __future__ import annotations

import pytest

from pyshell.pronouns import pronoun_ids
from pyshell.tokenizer import Tokenizer


@pytest.mark.real_model
def test_pronoun_ids_on_gemma(real_model_dir):
    tokenizer = Tokenizer.from_file(real_model_dir / "tokenizer.model")
    ids = pronoun_ids(tokenizer)
    pieces = {tokenizer.id_to_piece(i) for i in ids}
    assert {"▁he", "▁she", "▁He", "▁She", "▁il", "▁elle", "▁Il", "▁Elle", "▁his"} <= pieces
    assert len(ids) == 120
    assert not {"▁the", "▁hen", "▁Helen", "▁île"} & pieces
