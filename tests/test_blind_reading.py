"""Blind pairs and their tally (pyshell/blind_reading.py)."""

from __future__ import annotations

from pyshell.blind_reading import make_pairs, shown_text, sign_test, tally, verdict_template


def rows(system: str) -> list[dict]:
    return [
        {"id": f"en-0{n}", "language": "en", "length": "short",
         "prompt": f"A {system} heading.\n\nOnce upon a time, there lived a fox. The fox",
         "text": f" ran ({system} {n})."}
        for n in range(1, 9)
    ]  # fmt: skip


def test_pairs_hide_the_system_and_the_key_reveals_it():
    pairs, key = make_pairs(rows("old"), rows("new"), ("old", "new"), seed=3, requests={})
    assert len(pairs["pairs"]) == 8
    sides = [k["A"] for k in key["key"]]
    assert set(sides) == {"old", "new"}  # both orders occur in eight pairs
    for p, k in zip(pairs["pairs"], key["key"]):
        assert "heading" not in p["A"] + p["B"]  # the heading line is left out
        assert k["A"] in p["A"] and k["B"] in p["B"]
    again, _ = make_pairs(rows("old"), rows("new"), ("old", "new"), seed=3, requests={})
    assert again == pairs


def test_shown_text_is_the_opening_and_the_story():
    row = {"prompt": "Heading.\n\nOnce upon a time,", "text": " a fox."}
    assert shown_text(row) == "Once upon a time, a fox."
    assert shown_text({"prompt": "The rain fell.", "text": " Then"}) == "The rain fell. Then"


def test_tally_counts_preferences_means_and_unsuitable_stories():
    pairs, key = make_pairs(rows("old"), rows("new"), ("old", "new"), seed=3, requests={})
    sheet = verdict_template(pairs)
    for v, k in zip(sheet["verdicts"], key["key"]):
        new_side = "A" if k["A"] == "new" else "B"
        old_side = "B" if new_side == "A" else "A"
        v[new_side].update(coherence=4, fit=4, language=3, unsuitable=False)
        v[old_side].update(coherence=2, fit=3, language=3, unsuitable=v["pair"] == 1)
        v["coherence"] = new_side if v["pair"] <= 6 else "same"
        v["suitability"] = "same"
        v["overall"] = old_side if v["pair"] == 8 else new_side
    result = tally(pairs, key, sheet)
    assert result["preferred"]["coherence"] == {"old": 0, "new": 6, "same": 2}
    assert result["preferred"]["overall"] == {"old": 1, "new": 7, "same": 0}
    assert result["means"]["new"]["en"]["coherence"] == 4.0
    assert result["means"]["old"]["en"] == {"coherence": 2.0, "fit": 3.0, "language": 3.0}
    assert result["means"]["new"]["fr"]["coherence"] is None
    assert result["unsuitable"] == {"old": ["en-01"], "new": []}


def test_tally_counts_several_readers_together():
    pairs, key = make_pairs(rows("old"), rows("new"), ("old", "new"), seed=3, requests={})
    sheets = []
    for score in (4, 2):  # two readers who disagree on the new stories
        sheet = verdict_template(pairs)
        for v, k in zip(sheet["verdicts"], key["key"]):
            new_side = "A" if k["A"] == "new" else "B"
            v[new_side].update(coherence=score, unsuitable=score == 2 and v["pair"] == 1)
            v["overall"] = new_side if score == 4 else "same"
        sheets.append(sheet)
    result = tally(pairs, key, sheets)
    assert result["readers"] == 2 and result["readings"] == 16
    assert result["means"]["new"]["en"]["coherence"] == 3.0
    assert result["preferred"]["overall"] == {"old": 0, "new": 8, "same": 8}
    assert result["unsuitable"] == {"old": [], "new": ["en-01"]}


def test_pairs_are_won_by_their_readers_majority():
    pairs, key = make_pairs(rows("old"), rows("new"), ("old", "new"), seed=3, requests={})
    sheets = []
    for reader in range(3):
        sheet = verdict_template(pairs)
        for v, k in zip(sheet["verdicts"], key["key"]):
            new_side = "A" if k["A"] == "new" else "B"
            old_side = "B" if new_side == "A" else "A"
            # pairs 1-5: all three for new; 6: two for old; 7: one each way and one same
            if v["pair"] <= 5:
                v["coherence"] = new_side
            elif v["pair"] == 6:
                v["coherence"] = old_side if reader < 2 else new_side
            elif v["pair"] == 7:
                v["coherence"] = [new_side, old_side, "same"][reader]
            else:
                v["coherence"] = "same"
        sheets.append(sheet)
    won = tally(pairs, key, sheets)["by_pair"]["coherence"]
    assert {k: won[k] for k in ("old", "new", "split")} == {"old": 1, "new": 5, "split": 2}
    assert won["p"] == round(sign_test(5, 1), 3) == 0.219  # (1 + 6 + 6 + 1) / 64


def test_the_sign_test_is_exact_and_two_sided():
    assert sign_test(0, 0) == 1.0
    assert sign_test(3, 3) == 1.0
    assert sign_test(5, 0) == 2 / 32
    assert sign_test(0, 5) == 2 / 32
    assert abs(sign_test(9, 1) - 2 * 11 / 1024) < 1e-12  # P(≤ 1 of 10) = 11 / 1024
