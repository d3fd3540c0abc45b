"""`python -m pyshell.blind_reading`: stories of two systems as unlabeled pairs, and the verdicts' tally.

The automatic measures (pyshell/story_measures.py) cannot tell whether a story
holds together; people reading it can, if they do not know which system wrote
it. `pairs` takes two `python -m pyshell.evaluate --json` files written for the
same requests and writes, per request, the two stories as "A" and "B" in an
order drawn from a seeded random stream, with the request they answer; which
system is A is written to a separate key file the readers never see. Each story
is shown as the page shows it, less the heading line (the heading's wording
differs between systems and would give them away). `template` writes an empty
verdict sheet; `tally` joins the readers' verdicts with the key.

    python -m pyshell.blind_reading pairs OLD.json NEW.json --names today,new \\
        --out pairs.json --key key.json --seed 7
    python -m pyshell.blind_reading template pairs.json --out verdicts.json
    python -m pyshell.blind_reading tally pairs.json key.json verdicts.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path

__all__ = ["BRIEFING", "make_pairs", "shown_text", "sign_test", "tally", "verdict_template"]

SCORES = ("coherence", "fit", "language")
QUESTIONS = ("coherence", "suitability", "overall")
BRIEFING = (
    "You will read pairs of short stories written by a small text generator for young "
    "children, in English or French. Both stories of a pair answer the same request "
    "(character, setting, theme, tone, length, language), shown above them. You are not "
    "told how either story was made, and A and B are in a random order that changes from "
    "pair to pair. Read both, then score each story from 1 (bad) to 5 (good) on: "
    "coherence (characters stay who they are — species, gender, name —, events follow "
    "each other, the story stays a story: no author's notes, adverts, news, dates or a new "
    "story), fit (it answers the request and suits a young child), and language "
    "(grammar, agreement, real words). Mark a story unsuitable for a child if any part of it "
    "is something you would not read to a six-year-old (cruelty, gore, sexual content, "
    "racist or hateful words, drink and drugs, despair). Then say which story of the pair "
    "holds together better (coherence), which is better suited to a child (suitability), "
    "and which you would rather read to a child (overall): A, B, or same."
)


def shown_text(row: dict) -> str:
    """The story as the page shows it (opening and story), without the heading line."""
    prompt = row["prompt"]
    if "\n\n" in prompt:
        prompt = prompt.split("\n\n", 1)[1]
    return prompt + row["text"]


def _request(row: dict, requests: dict[str, dict]) -> dict:
    request = dict(requests.get(row["id"], {}))
    request.setdefault("language", row["language"])
    request.setdefault("length", row["length"])
    return request


def make_pairs(
    first: list[dict], second: list[dict], names: tuple[str, str], seed: int, requests: dict
) -> tuple[dict, dict]:
    """(pairs, key) for the requests both files hold, in the first file's order."""
    rng = random.Random(seed)
    others = {row["id"]: row for row in second}
    pairs, key = [], []
    for row in first:
        if row["id"] not in others:
            continue
        stories = [(names[0], row), (names[1], others[row["id"]])]
        rng.shuffle(stories)
        n = len(pairs) + 1
        pairs.append({
            "pair": n, "id": row["id"], "request": _request(row, requests),
            "A": shown_text(stories[0][1]), "B": shown_text(stories[1][1]),
        })  # fmt: skip
        key.append({"pair": n, "id": row["id"], "A": stories[0][0], "B": stories[1][0]})
    return {"briefing": BRIEFING, "pairs": pairs}, {"systems": list(names), "key": key}


def verdict_template(pairs: dict) -> dict:
    """An empty verdict sheet: scores 1-5, unsuitable true/false, preferences A/B/same."""
    blank = {s: None for s in SCORES} | {"unsuitable": None}
    questions = {"coherence": None, "suitability": None, "overall": None, "note": ""}
    return {
        "reader": "",
        "briefed_with": "the briefing of the pairs file, nothing else",
        "verdicts": [
            {"pair": p["pair"], "A": dict(blank), "B": dict(blank), **questions}
            for p in pairs["pairs"]
        ],
    }


def tally(pairs: dict, key: dict, verdicts: dict | list[dict]) -> dict:
    """Per system: mean scores per language, unsuitable stories; per question: how
    often each system was preferred (ties counted apart), and (`by_pair`) how many
    pairs each won by its readers' majority, with a sign test's p over those pairs.
    `verdicts` is one reader's sheet or a list of several readers' sheets, counted
    together (a story two readers flag is listed twice)."""
    sheets = verdicts if isinstance(verdicts, list) else [verdicts]
    systems = key["systems"]
    by_pair = {k["pair"]: k for k in key["key"]}
    language = {p["pair"]: p["request"]["language"] for p in pairs["pairs"]}
    scores: dict = {s: {lang: {m: [] for m in SCORES} for lang in ("en", "fr")} for s in systems}
    unsuitable: dict = {s: [] for s in systems}
    preferred: dict = {q: {s: 0 for s in [*systems, "same"]} for q in QUESTIONS}
    votes: dict = {q: {p: {s: 0 for s in systems} for p in by_pair} for q in QUESTIONS}
    readings = [v for sheet in sheets for v in sheet["verdicts"]]
    for v in readings:
        k, lang = by_pair[v["pair"]], language[v["pair"]]
        for side in ("A", "B"):
            for m in SCORES:
                if v[side].get(m) is not None:
                    scores[k[side]][lang][m].append(v[side][m])
            if v[side].get("unsuitable"):
                unsuitable[k[side]].append(k["id"])
        for q, counts in preferred.items():
            if v.get(q) in ("A", "B"):
                counts[k[v[q]]] += 1
                votes[q][v["pair"]][k[v[q]]] += 1
            elif v.get(q) == "same":
                counts["same"] += 1

    def mean(values: list) -> float | None:
        return round(sum(values) / len(values), 2) if values else None

    return {
        "readers": len(sheets),
        "readings": len(readings),
        "means": {
            s: {lang: {m: mean(v) for m, v in per.items()} for lang, per in by_lang.items()}
            for s, by_lang in scores.items()
        },
        "unsuitable": unsuitable,
        "preferred": preferred,
        "by_pair": {q: _by_pair(votes[q], systems) for q in QUESTIONS},
    }


def _by_pair(votes: dict, systems: list[str]) -> dict:
    """Pairs each system won (more readers chose it than the other), pairs split
    (as many each way, "same" left out), and the sign test over the pairs won."""
    first, second = systems
    won = {first: 0, second: 0, "split": 0}
    for count in votes.values():
        if count[first] == count[second]:
            won["split"] += 1
        else:
            won[first if count[first] > count[second] else second] += 1
    return {**won, "p": round(sign_test(won[first], won[second]), 3)}


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test: how often a split at least this uneven would come
    up if readers were as likely to choose either system. The pair, not the reading,
    is the unit: readers of the same two stories do not vote independently."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pyshell.blind_reading", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    make = sub.add_parser("pairs", help="unlabeled pairs of two evaluation files")
    make.add_argument("first", type=Path)
    make.add_argument("second", type=Path)
    make.add_argument("--names", default="first,second", help="the two systems' names")
    make.add_argument("--ids", default="", help="only these request ids (comma-separated)")
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--requests", type=Path, help="the request file (default: the committed)")
    make.add_argument("--out", type=Path, required=True)
    make.add_argument("--key", type=Path, required=True)
    template = sub.add_parser("template", help="an empty verdict sheet for a pairs file")
    template.add_argument("pairs", type=Path)
    template.add_argument("--out", type=Path, required=True)
    count = sub.add_parser("tally", help="join verdicts with the key and count")
    count.add_argument("pairs", type=Path)
    count.add_argument("key", type=Path)
    count.add_argument("verdicts", type=Path, nargs="+", help="one sheet per reader")
    args = p.parse_args(argv)

    def load(path: Path) -> dict:
        return json.loads(path.read_text(encoding="utf-8"))

    def save(path: Path, data: dict) -> None:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    if args.command == "pairs":
        from pyshell.evaluate import REQUESTS  # the command only: the pairs need no model

        source = args.requests or REQUESTS
        requests = {r["id"]: r["request"] for r in load(source)["requests"]}
        first, second = load(args.first)["stories"], load(args.second)["stories"]
        if args.ids:
            wanted = set(args.ids.split(","))
            first = [row for row in first if row["id"] in wanted]
        names = tuple(args.names.split(","))
        pairs, key = make_pairs(first, second, (names[0], names[1]), args.seed, requests)
        save(args.out, pairs)
        save(args.key, key)
        print(f"{len(pairs['pairs'])} pairs in {args.out}; key in {args.key}")
    elif args.command == "template":
        save(args.out, verdict_template(load(args.pairs)))
    else:
        result = tally(load(args.pairs), load(args.key), [load(v) for v in args.verdicts])
        print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
