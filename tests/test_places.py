"""The preposition a setting takes (pyshell/places.py)."""

from __future__ import annotations

import pytest

from pyshell.places import place_en, place_fr


@pytest.mark.parametrize(
    ("setting", "place"),
    [
        ("a small village by the sea", "in a small village by the sea"),
        ("a rocky island", "on a rocky island"),
        ("a frozen lake", "on a frozen lake"),
        ("a ship far out at sea", "on a ship far out at sea"),
        ("a space station", "on a space station"),
        ("a train station", "in a train station"),
        ("the South Pole", "at the South Pole"),
        ("the top of a hill", "at the top of a hill"),
        ("a city above the clouds", "in a city above the clouds"),
        ("a village on Halloween night", "in a village on Halloween night"),
        ("under the sea", "under the sea"),
        ("the trenches", "in the trenches"),
    ],
)
def test_english_places(setting, place):
    assert place_en(setting) == place


@pytest.mark.parametrize(
    ("setting", "place"),
    [
        ("un petit village au bord de la mer", "dans un petit village au bord de la mer"),
        ("une petite île", "sur une petite île"),
        ("l'île aux trésors", "sur l'île aux trésors"),
        ("un lac gelé", "sur un lac gelé"),
        ("un bateau pirate", "sur un bateau pirate"),
        ("le pôle Sud", "au pôle Sud"),
        ("les tranchées", "dans les tranchées"),
        ("une station spatiale", "à bord d'une station spatiale"),
        ("le vaisseau des étoiles", "à bord du vaisseau des étoiles"),
        ("une ville au-dessus des nuages", "dans une ville au-dessus des nuages"),
        ("sous la mer", "sous la mer"),
    ],
)
def test_french_places(setting, place):
    assert place_fr(setting) == place
