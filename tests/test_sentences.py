"""Where a sentence ends (pyshell/sentences.py)."""

from __future__ import annotations

import pytest

from pyshell.sentences import QuoteTracker, ends_sentence, is_sentence_end_token, quote_open


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        ("He left.", True),
        ('"Go!"', True),
        ("Really?", True),
        ("And then…", True),
        ("« Viens ! »", True),
        ("He left. ", True),
        ("He left.\n", True),
        ("(as always.)", True),
        ("He left", False),
        ("He left,", False),
        ("It cost 3.5", False),
        ("He met Mr.", False),
        ("Il parla à M.", False),
        ("", False),
    ],
)
def test_ends_sentence(text, ends):
    assert ends_sentence(text) is ends


@pytest.mark.parametrize(
    ("token", "ends"),
    [(".", True), ("!\n", True), ('."', True), ("?»", True), ("…", True), (" once", False),
     ("Mr.", False), (".com", False)],
)  # fmt: skip
def test_sentence_end_tokens(token, ends):
    assert is_sentence_end_token(token) is ends


@pytest.mark.parametrize(
    ("text", "open_"),
    [
        ("She replied: “I am old.", True),
        ("She replied: “I am old.”", False),
        ('He said "go.', True),
        ('He said "go." Then "stop."', False),
        ("« Viens ! » dit-il. « Non", True),
        ("It's Tom’s hat.", False),  # apostrophes are not quotes
        ("a ” stray closer", False),
    ],
)
def test_quote_open(text, open_):
    assert quote_open(text) is open_


def test_quote_tracker_follows_a_stream():
    tracker = QuoteTracker()
    for piece in ["She", " said", ": “", "Hi", ".", "”"]:
        tracker.push(piece)
        if piece == ": “":
            assert tracker.open
    assert not tracker.open
