"""`python -m bench.story_rule_speed`: what a story rule costs in decode speed, in alternation.

A rule that runs at every step (pyshell/known_words.py reads all 64 candidates)
must not slow a story down beyond the machine's noise. Back-to-back evaluation runs
drift with the machine's load, so this writes the same French held-out stories with
the rule on and off in alternation (the order flips every round), in CPython on the
exported CPU graph, and prints each side's decode tokens/s: the median, every story's
rate, and whether both sides wrote the same text where the rule dropped nothing that
mattered. Results: docs/stories.md, "French: known words only".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

from pyshell.config import ModelConfig
from pyshell.evaluate import DEFAULT_MODEL, load_requests, select, write_one
from pyshell.onnx_runner import OnnxRunner
from pyshell.story_policy import story_policy
from pyshell.tokenizer import Tokenizer

# Held-out French requests whose stories the rule leaves word for word (2026-12-04):
# the same tokens on both sides, so only the rule's own cost differs.
SAME_STORIES = ("fr-03", "fr-07", "fr-15", "fr-18")


async def measure(model: Path, ids: tuple[str, ...], rounds: int) -> dict:
    config = ModelConfig.from_file(model)
    tokenizer = Tokenizer.from_file(model / "tokenizer.model")
    runner = OnnxRunner(model)
    cases = [c for c in select(load_requests(), "held-out", "", None, "fr") if c.id in ids]
    policies = {
        on: story_policy(tokenizer, config.stop_ids, language="fr", known_words_only=on)
        for on in (True, False)
    }
    rates: dict[bool, list[float]] = {True: [], False: []}
    texts: dict[tuple[str, bool], str] = {}
    for done in range(rounds):
        for on in (True, False) if done % 2 == 0 else (False, True):
            for case in cases:
                _, _, result = await write_one(runner, tokenizer, config, case, {}, policies[on])
                rates[on].append(result.stats.decode_tokens_per_second)
                texts.setdefault((case.id, on), result.text)
    return {
        "stories": [c.id for c in cases],
        "rounds": rounds,
        "known_words_tokens_per_second": rates[True],
        "off_tokens_per_second": rates[False],
        "median_on": statistics.median(rates[True]),
        "median_off": statistics.median(rates[False]),
        "paired_ratio_median": statistics.median(a / b for a, b in zip(rates[True], rates[False])),
        "same_texts": all(texts[(c.id, True)] == texts[(c.id, False)] for c in cases),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, metavar="DIR")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ids", default=",".join(SAME_STORIES), help="French request ids")
    args = parser.parse_args(argv)
    found = asyncio.run(measure(args.model, tuple(args.ids.split(",")), args.rounds))
    print(json.dumps(found, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
