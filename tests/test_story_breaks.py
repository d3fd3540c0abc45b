"""Break-outs of a story (pyshell/story_breaks.py): the measure and the per-token tests."""

from __future__ import annotations

import pytest

from pyshell.story_breaks import break_outs, breaks_paragraph, closes_story, opens_break_line


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        (" The fox ran home. The end.", []),
        (" The fox ran home.\n\nThe End", []),
        (" The fox ran home. The end.\n\nOnce upon a time, a frog", ["new story", "after the end"]),
        (" The fox ran home.\n\nTHE END\n\nA funny story about a frog.", ["after the end"]),
        (" Le renard rentra. Fin.\n\nUne autre histoire.", ["after the end"]),
        (" At the end of the road, the fox stopped. It was the end.", []),
        (" The fin of the fish.", []),
        (" Il était une fois un autre renard.", ["new story"]),
        (" The fox slept.\n\nNote: this story was written by my son.", ["note", "about the story"]),
        (" The fox slept.\n\n**Author's note:** thanks!", ["note"]),
        (" The fox slept.\n\nCopyright © 2015 Fox Books.", ["note", "date"]),
        (" Le renard dormait.\n\nPublié le 3 juin par Marie.", ["note", "date"]),
        (" The fox slept. Visit www.foxes.com for more.", ["link"]),
        (" The fox slept. Write to me at http://x.org", ["link"]),
        (" It happened on June 3, in the morning.", ["date"]),
        (" In May the fox may sing; they march in March.", []),
        (" The fox counted 3 apples and 12 pears.", []),
        (" In 1998, the fox was born.", ["date"]),
        (" The note on the door said hello.", []),
        (" The fox slept. This book is perfect for young readers.", ["about the story"]),
        (" The fox slept.\n\nI loved this book because of the fox.", ["about the story"]),
        (" Le renard dormait. Cette histoire plaira aux jeunes lecteurs.", ["about the story"]),
        (" She told him the story of the moon.", []),
        (" Zoé, la lectrice, ouvrit le livre.", []),
    ],
)
def test_break_outs(text, kinds):
    assert break_outs(text) == kinds


@pytest.mark.parametrize(
    ("piece", "opens"),
    [
        ("Note", True), ("Copyright", True), ("©", True), ("http", True), ("www", True),
        ("2", True), (" Posted", True), ("Publié", True), ("Auteur", True),
        ("The", False), ("Once", False), ("Il", False), ("Notebook", False), ("\n\n", False),
    ],
)  # fmt: skip
def test_opens_break_line(piece, opens):
    assert opens_break_line(piece) is opens


@pytest.mark.parametrize(
    ("text", "language", "closes"),
    [
        (" The fox slept.\n\nThe end.", "en", True),
        (" The fox slept. The End", "en", True),
        (" The fox slept.\n\n*THE END*", "en", True),
        (" It was the end.", "en", False),  # a sentence about an end, not the closing line
        (" Le renard dormait.\n\nFin.", "fr", True),
        (" Le renard dormait. Fin", "fr", True),
        (" Le requin a une fin.", "fr", False),
        (" The fox slept.\n\nThe end.", "fr", False),
    ],
)
def test_closes_story(text, language, closes):
    assert closes_story(text, language) is closes


@pytest.mark.parametrize(
    ("paragraph", "leaves"),
    [
        ("A gentle story about a brave man who saved the day.", True),
        ("The story ended here.", True),
        ("This is a lovely tale about the little red star.", True),
        ("I hope that you enjoy my reading.", True),
        ("Thanks!", True),
        ("Une histoire drôle sur un chat.", True),
        ("Merci de votre lecture.", True),
        ("Once upon a time, there was a frog.", True),
        ("Note: the author is six.", True),
        ("The fox ran home and slept.", False),
        ("A bird sang in the tree.", False),
        ("I was scared, said the fox.", False),
        ("Le renard rentra chez lui.", False),
    ],
)
def test_breaks_paragraph(paragraph, leaves):
    assert breaks_paragraph(paragraph) is leaves


@pytest.mark.parametrize(
    "text",
    [
        " He could use all these books to help him.",
        " Mira découvrit ce livre sur la science.",
        " The wizard read the book every night.",
    ],
)
def test_books_inside_the_story_are_no_break(text):
    assert break_outs(text) == []
