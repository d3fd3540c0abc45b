"""`python -m pyshell.evaluate`: write the committed story requests and score what a reader would see.

The requests (pyshell/data/story_requests.json: English and French, every form
field, all three lengths, one fixed seed each) go through the function the page
runs, `pyshell.story.write_story` (the prompt builder, the settings and their
budget, `generate` with the story policy of pyshell/story_policy.py and the
sampler), on onnxruntime with the exported graph. Each story is scored by
pyshell/story_measures.py (no other model needed), and the table is printed per
part: "tuning", the requests defaults were tuned on, and "held-out", kept out of
tuning so the table also shows how well the choices carry over; "risky" and
"risky-held-out" ask for themes that invite a pretrained model to drift from a
child's story (love, pirates, crime, war, parties, monsters, witches), tuned on
and held out the same way.

Options set the sampling and the policy, so the same command measures the
defaults and any alternative. `--plain` turns the story policy off (no banned
ids, a hard stop at the budget, the prompt inside the repetition penalty): with
the framing of that time, it gave the "before" table of docs/stories.md.
`--no-family-safe` keeps the policy but lets stories write the words of the
family-safe lists (pyshell/family_safe.py); the "listed %" column counts the
stories that hold one either way.
`--rescore` scores saved stories again after a measure changes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pyshell.config import ModelConfig
from pyshell.family_safe import UnsuitableRequestError
from pyshell.generate import GenerationResult, TokenizerLike
from pyshell.guidance import GuidedRunner
from pyshell.known_words import LANGUAGES as KNOWN_WORD_LANGUAGES
from pyshell.prompts import LANGUAGES, StoryRequest
from pyshell.runner import Runner
from pyshell.settings import parse_sampling
from pyshell.story import write_story
from pyshell.story_measures import StoryScore, score_story
from pyshell.story_policy import (
    DEFAULT_BEST_OF,
    DEFAULT_BREAKS,
    DEFAULT_LOOP_DRAWS,
    DEFAULT_MIN_LENGTH,
    DEFAULT_NO_REPEAT_NGRAM,
    DEFAULT_PENALIZE_PROMPT,
    DEFAULT_PHRASE_REPEATS,
    StoryPolicy,
    story_policy,
)

__all__ = ["StoryCase", "load_requests", "main", "rescore", "select", "summarize", "table"]

REQUESTS = Path(__file__).resolve().parent / "data" / "story_requests.json"
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "gemma-3-270m"
PARTS = ("tuning", "held-out", "risky", "risky-held-out")
HELD_OUT = ("held-out", "risky-held-out")  # never written while choosing anything


@dataclass(frozen=True)
class StoryCase:
    """One committed request: its id, its part of the set and its seed."""

    id: str
    part: str  # one of PARTS
    seed: int
    request: StoryRequest


def load_requests(path: Path = REQUESTS) -> list[StoryCase]:
    data = json.loads(path.read_text(encoding="utf-8"))
    cases = [
        StoryCase(r["id"], r["part"], int(r["seed"]), StoryRequest.from_dict(r["request"]))
        for r in data["requests"]
    ]
    unknown = {c.part for c in cases} - set(PARTS)
    if unknown:
        raise ValueError(f"{path}: unknown parts {sorted(unknown)}; expected {PARTS}")
    return cases


def parse_parts(text: str) -> tuple[str, ...]:
    """ "all", or comma-separated parts ("tuning,risky"); argparse's type for --part."""
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in parts if p not in (*PARTS, "all")]
    if unknown or not parts:
        raise argparse.ArgumentTypeError(
            f"unknown part {unknown[0] if unknown else text!r}: expected all or some of "
            f"{', '.join(PARTS)}, comma-separated"
        )
    return parts


def select(
    cases: list[StoryCase],
    part: str | tuple[str, ...],
    lengths: str = "",
    per_language: int | None = None,
    languages: str = "",
) -> list[StoryCase]:
    """The cases of `part` (a part, several, or "all"), of the comma-separated
    `lengths` and `languages`, and at most the first `per_language` of each language
    and part (a quick tuning subset)."""
    parts = (part,) if isinstance(part, str) else part
    wanted = set(lengths.split(",")) if lengths else None
    spoken = set(languages.split(",")) if languages else None
    chosen = [
        c
        for c in cases
        if ("all" in parts or c.part in parts)
        and (wanted is None or c.request.length in wanted)
        and (spoken is None or c.request.language in spoken)
    ]
    if per_language:
        counts: dict[tuple[str, str], int] = {}
        kept = []
        for c in chosen:
            key = (c.part, c.request.language)
            counts[key] = counts.get(key, 0) + 1
            if counts[key] <= per_language:
                kept.append(c)
        chosen = kept
    return chosen


# --- writing the stories ---------------------------------------------------------------


async def write_one(
    runner: Runner,
    tokenizer: TokenizerLike,
    config: ModelConfig,
    case: StoryCase,
    sampling: dict[str, object],
    policy: StoryPolicy,
) -> tuple[str, int, GenerationResult]:
    """One story as the page writes it (pyshell.story.write_story): the page's budget
    (the story length's, capped at half a small model's context), prompt and sampler,
    with the case's seed; `sampling` holds settings form values, `policy` the policy
    under test."""
    story = await write_story(
        runner, tokenizer, config, case.request, {**sampling, "seed": case.seed}, policy=policy
    )
    return story.plan.prompt, story.plan.settings.max_new_tokens, story.generation


def score(case: StoryCase, text: str, tokens: int, budget: int) -> StoryScore:
    r = case.request
    return score_story(text, tokens, budget, r.character, r.language)


# --- the table ---------------------------------------------------------------------------


def summarize(rows: list[dict]) -> dict:
    """Percentages (0-100) and means over scored rows (each has "score" and "part")."""
    scores = [r["score"] for r in rows]
    n = len(scores)
    if not n:
        return {"stories": 0}
    with_character = [s for s in scores if s["character"] is not None]

    def pct(values: list[bool]) -> float:
        return 100.0 * sum(values) / len(values) if values else float("nan")

    lexicon = [s for s in scores if s.get("made_up") is not None]
    broken = [s for s in scores if s.get("breaks") is not None]
    asked = sum(s["words_asked"] for s in lexicon)
    return {
        "stories": n,
        "clean": pct([s["clean"] for s in scores]),
        "listed": pct([bool(s["listed"]) for s in scores]),
        "sentence_end": pct([s["sentence_end"] for s in scores]),
        "character_back": pct([s["character"] for s in with_character]),
        "character_stories": len(with_character),
        "loops": pct([s["loop"] for s in scores]),
        "language": pct([s["language_ok"] for s in scores]),
        "distinct_3": sum(s["distinct_3"] for s in scores) / n,
        "length_ratio": sum(s["length_ratio"] for s in scores) / n,
        "length_ok": pct([0.75 <= s["length_ratio"] <= 1.3 for s in scores]),
        "length_60": pct([s["length_ratio"] >= 0.6 for s in scores]),
        "made_up": 100.0 * sum(len(s["made_up"]) for s in lexicon) / asked
        if asked
        else float("nan"),
        "breaks": pct([bool(s["breaks"]) for s in broken]),
    }


COLUMNS = (
    ("stories", "stories", "{:.0f}"),
    ("clean", "no control/markup %", "{:.0f}"),
    ("listed", "listed %", "{:.0f}"),
    ("sentence_end", "ends a sentence %", "{:.0f}"),
    ("character_back", "character back %", "{:.0f}"),
    ("loops", "loops %", "{:.1f}"),
    ("language", "right language %", "{:.0f}"),
    ("distinct_3", "distinct-3", "{:.3f}"),
    ("length_ratio", "tokens / budget", "{:.2f}"),
    ("length_ok", "length 0.75-1.3 %", "{:.0f}"),
    ("length_60", "length ≥ 0.6 %", "{:.0f}"),
    ("made_up", "made-up words %", "{:.2f}"),
    ("breaks", "break-outs %", "{:.0f}"),
)


def _cell(value: float, fmt: str) -> str:
    return "n/a" if isinstance(value, float) and math.isnan(value) else fmt.format(value)


def table(rows: list[dict]) -> str:
    """A markdown table: one line per part, per language, and for everything."""
    groups = [(p, [r for r in rows if r["part"] == p]) for p in PARTS]
    groups += [(f"{p} {lang}", [r for r in rows if r["part"] == p and r["language"] == lang])
               for p in PARTS for lang in ("en", "fr")]  # fmt: skip
    groups.append(("all", rows))
    lines = [
        "| part | " + " | ".join(title for _, title, _ in COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for name, group in groups:
        if not group:
            continue
        summary = summarize(group)
        cells = [_cell(summary[key], fmt) for key, _, fmt in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- the command -------------------------------------------------------------------------


# --flag / --no-flag options left unset by default (the story's language then decides):
# flag → what the rule does.
LANGUAGE_SWITCHES = {
    "--loop-ends": "end the story before the sentence kept when it would loop (pyshell/best_of.py)",
    "--echo-ends": (
        "pass over a sentence that would echo the story a second time, and end the story "
        "before one when every sentence drawn would (pyshell/echoes.py)"
    ),
    "--pass-asides": (
        "keep a drawn sentence told in the third person over one in which the narrator "
        "says I or we (pyshell/asides.py)"
    ),
    "--prefer-known": (
        "keep a drawn sentence whose words are all known over one that makes a word up "
        "(pyshell/known_words.py)"
    ),
    "--avoid-grim": (
        "keep a drawn sentence without a grim word over one with "
        "(pyshell/grim_words.py; family-safe stories only)"
    ),
    "--beats": (
        'write "One day," and "In the end," as paragraph openings at a share of the budget '
        "(pyshell/story_beats.py)"
    ),
    "--warm-end": (
        "once the last beat is done, keep a drawn sentence with a warm word over one "
        "without (pyshell/warm_words.py; family-safe stories only)"
    ),
    "--pass-break-outs": (
        "pass over a drawn sentence that breaks out of the story (a date, a note, a blurb), "
        "before the story may end too (pyshell/best_of.py)"
    ),
    "--name-in-beats": 'name the character after a beat\'s words ("One day, the dragon")',
    "--free-character": "keep the words that name the character out of the repetition penalty",
    "--penalize-pronouns": "whether pronouns count for the repetition penalty (pyshell/pronouns.py)",
    "--known-words": "keep stories to the forms of the language's word list (pyshell/known_words.py)",
    "--digits": "--no-digits writes numbers in words: no token with a digit (pyshell/banned_tokens.py)",
}


def _language_switch(p: argparse.ArgumentParser, flag: str, does: str) -> None:
    """A --flag / --no-flag option left unset by default: the policy's default for the
    story's language then applies (pyshell/story_policy.py)."""
    p.add_argument(
        flag, action=argparse.BooleanOptionalAction, default=None,
        help=f"{does} (default: pyshell/story_policy.py's per language)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pyshell.evaluate",
        description="Write the committed story requests with fixed seeds and score every story.",
    )
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, metavar="DIR")
    p.add_argument(
        "--backend", choices=("webgpu", "wasm"), default="webgpu",
        help="which of the export's graphs writes: the WebGPU graph (model.onnx, the "
        "default) or the CPU graph the page runs on WASM (model-cpu.onnx); the same seed "
        "writes another story on each",
    )  # fmt: skip
    p.add_argument("--requests", type=Path, default=REQUESTS, metavar="FILE")
    p.add_argument(
        "--part", type=parse_parts, default=("all",), metavar="PART[,PART]",
        help=f"all (the default) or some of {', '.join(PARTS)}, comma-separated",
    )  # fmt: skip
    p.add_argument("--lengths", default="", help="comma-separated, e.g. short (default: all)")
    p.add_argument("--languages", default="", help="comma-separated, e.g. fr (default: all)")
    p.add_argument("--per-language", type=int, metavar="N", help="only the first N per language")
    p.add_argument("--temperature", type=float, help="(default: pyshell/settings.py's)")
    p.add_argument("--top-p", type=float, help="(default: pyshell/settings.py's)")
    p.add_argument(
        "--min-p", type=float, metavar="M",
        help="drop candidates less than M times as likely as the best (default: "
        "pyshell/story_policy.py's per language)",
    )  # fmt: skip
    p.add_argument("--repetition-penalty", type=float, help="(default: pyshell/settings.py's)")
    p.add_argument("--no-repeat-ngram", type=int, default=DEFAULT_NO_REPEAT_NGRAM, metavar="N")
    p.add_argument(
        "--ngram-repeats", type=int, default=None, metavar="N",
        help="how often such an n-gram may occur (default: pyshell/story_policy.py's per language)",
    )  # fmt: skip
    p.add_argument(
        "--phrase-words", type=int, default=None, metavar="N",
        help="no N-word phrase, case and punctuation aside, more than --phrase-repeats "
        "times (pyshell/phrase_guard.py; 0: off; default: pyshell/story_policy.py's per "
        "language)",
    )  # fmt: skip
    p.add_argument("--phrase-repeats", type=int, default=DEFAULT_PHRASE_REPEATS, metavar="N")
    p.add_argument(
        "--best-of", type=int, default=DEFAULT_BEST_OF, metavar="N",
        help="write each sentence as the likeliest of N samples (pyshell/best_of.py)",
    )  # fmt: skip
    p.add_argument(
        "--guidance", type=float, default=1.0, metavar="S",
        help="classifier-free guidance by the story's heading, strength S (pyshell/guidance.py; "
        "1: off; each step runs the model twice)",
    )  # fmt: skip
    p.add_argument(
        "--guidance-cut", choices=("heading", "prompt"), default="heading",
        help="what the run without guidance leaves out: the heading line, or the whole prompt",
    )  # fmt: skip
    p.add_argument(
        "--steer", type=Path, metavar="FILE",
        help="add a steering vector of this file to the residual stream (pyshell/steering.py; "
        "--model must be a steerable copy)",
    )  # fmt: skip
    p.add_argument(
        "--steer-strength", type=float, default=1.0, metavar="A",
        help="with --steer, the multiple of the language's vector added",
    )  # fmt: skip
    p.add_argument(
        "--loop-draws", type=int, default=DEFAULT_LOOP_DRAWS, metavar="N",
        help="pass over a sentence that would loop, drawing up to N more when all would "
        "(pyshell/best_of.py; 0: off)",
    )  # fmt: skip
    p.add_argument(
        "--name-character", type=int, default=None, metavar="N",
        help="after N sentences in a row without the character, keep a drawn sentence that "
        "names it (pyshell/best_of.py; 0: off; default: pyshell/story_policy.py's per language)",
    )  # fmt: skip
    p.add_argument(
        "--end-draws", type=int, default=None, metavar="N",
        help="with --warm-end, sentences drawn at each sentence start once the last beat is "
        "done (default: pyshell/story_policy.py's per language)",
    )  # fmt: skip
    p.add_argument(
        "--min-length", type=float, default=DEFAULT_MIN_LENGTH, metavar="FRACTION",
        help="share of the budget before which the story may not end",
    )  # fmt: skip
    p.add_argument(
        "--breaks", action=argparse.BooleanOptionalAction, default=DEFAULT_BREAKS,
        help="the break-out rule (pyshell/story_breaks.py), paragraph starts held back",
    )  # fmt: skip
    for flag, does in LANGUAGE_SWITCHES.items():
        _language_switch(p, flag, does)
    p.add_argument(
        "--penalize-prompt", action=argparse.BooleanOptionalAction,
        default=DEFAULT_PENALIZE_PROMPT,
        help="whether the repetition penalty also weighs on the prompt's tokens",
    )  # fmt: skip
    p.add_argument("--plain", action="store_true", help="no story policy: no bans, hard stop")
    p.add_argument(
        "--no-family-safe", action="store_true",
        help="let stories write the words family-safe stories leave out",
    )  # fmt: skip
    p.add_argument("--json", type=Path, metavar="FILE", help="write every story and score here")
    p.add_argument(
        "--markdown", type=Path, metavar="FILE",
        help="write the table with the command, date, machine and settings here",
    )  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no line per story on stderr")
    p.add_argument(
        "--rescore", type=Path, metavar="FILE",
        help="score the stories of an earlier --json FILE again instead of writing new ones",
    )  # fmt: skip
    return p


async def evaluate(args: argparse.Namespace) -> tuple[list[dict], dict]:
    from pyshell.onnx_runner import OnnxRunner  # numpy/onnxruntime: CPython only
    from pyshell.tokenizer import Tokenizer

    cases = select(
        load_requests(args.requests), args.part, args.lengths, args.per_language, args.languages
    )
    config = ModelConfig.from_file(args.model)
    tokenizer = Tokenizer.from_file(args.model / "tokenizer.model")
    vectors = {}
    if args.steer:
        from pyshell.steering import SteeredRunner, load_vectors  # onnx: CPython only

        runner = SteeredRunner(args.model)
        vectors = load_vectors(args.steer)
    else:
        runner = OnnxRunner(args.model, backend=args.backend)
    if args.guidance > 1:
        runner = GuidedRunner(
            runner,
            OnnxRunner(args.model, backend=args.backend),
            args.guidance,
            tokenizer,
            args.guidance_cut,
        )
    sampling = {
        "temperature": args.temperature,
        "top_p": args.top_p,
        "repetition_penalty": args.repetition_penalty,
        "family_safe": not args.no_family_safe,
    }
    policies = {
        language: StoryPolicy()
        if args.plain
        else story_policy(
            tokenizer,
            config.stop_ids,
            no_repeat_ngram=args.no_repeat_ngram,
            ngram_repeats=args.ngram_repeats,
            phrase_words=args.phrase_words,
            phrase_repeats=args.phrase_repeats,
            penalize_prompt=args.penalize_prompt,
            family_safe=not args.no_family_safe,
            language=language,
            min_length=args.min_length,
            breaks=args.breaks,
            hold_paragraphs=args.breaks,
            penalize_pronouns=args.penalize_pronouns,
            best_of=args.best_of,
            loop_draws=args.loop_draws,
            loop_ends=args.loop_ends,
            name_character=args.name_character,
            pass_asides=args.pass_asides,
            prefer_known=args.prefer_known if language in KNOWN_WORD_LANGUAGES else False,
            avoid_grim=args.avoid_grim,
            beats=args.beats,
            warm_end=args.warm_end,
            end_draws=args.end_draws,
            name_in_beats=args.name_in_beats,
            free_character=args.free_character,
            pass_break_outs=args.pass_break_outs,
            known_words_only=args.known_words if language in KNOWN_WORD_LANGUAGES else False,
            no_digits=None if args.digits is None else not args.digits,
            min_p=args.min_p,
            echo_ends=args.echo_ends,
        )
        for language in LANGUAGES
    }  # the family-safe word list is the story's language's
    settings = {
        "sampling": {  # min-p is the policy's (per language), written there
            k: v
            for k, v in asdict(parse_sampling(sampling, config.top_k)).items()
            if k not in ("seed", "min_p")
        },
        "policy": policies["en"].describe(),
        "policies": {language: policy.describe() for language, policy in policies.items()},
        "model": config.name,
        "backend": "wasm" if args.steer else args.backend,  # a steered copy is the CPU graph
        "requests": str(args.requests.name),
        "part": ",".join(args.part),
        "lengths": args.lengths or "all",
        "languages": args.languages or "all",
        "per_language": args.per_language,
    }
    if args.steer:
        settings["steering"] = {"vectors": str(args.steer), "strength": args.steer_strength}
    rows = []
    settings["refused"] = {}  # id → the field error a reader gets (family-safe requests)
    started = time.perf_counter()
    for n, case in enumerate(cases, 1):
        policy = policies[case.request.language]
        if vectors:  # the story's language's vector
            runner.vector = (args.steer_strength * vectors[case.request.language]).astype("float32")
        try:
            prompt, budget, result = await write_one(
                runner, tokenizer, config, case, sampling, policy
            )
        except UnsuitableRequestError as exc:  # the page refuses it too: no story to score
            settings["refused"][case.id] = str(exc)
            print(f"[{n}/{len(cases)}] {case.id} refused: {exc}", file=sys.stderr)
            continue
        scored = score(case, result.text, len(result.ids), budget).to_dict()
        rows.append({
            "id": case.id, "part": case.part, "seed": case.seed,
            "language": case.request.language, "length": case.request.length,
            "prompt": prompt, "text": result.text, "stop_reason": result.stop_reason,
            "budget": budget, "score": scored,
            "decode_tokens_per_second": round(result.stats.decode_tokens_per_second, 2),
        })  # fmt: skip
        if not args.quiet:
            flags = ["loop"] if scored["loop"] else []
            flags += [f"listed {', '.join(scored['listed'])}"] if scored["listed"] else []
            flags += [f"no {k}" for k in ("clean", "sentence_end", "language_ok") if not scored[k]]
            print(
                f"[{n}/{len(cases)} {time.perf_counter() - started:.0f} s] {case.id} "
                f"{len(result.ids)} tokens, {result.stop_reason}, character "
                f"{scored['character']}, {', '.join(flags) or 'ok'}",
                file=sys.stderr,
            )
    settings["seconds"] = round(time.perf_counter() - started, 1)
    return rows, settings


def report(rows: list[dict], settings: dict, argv: list[str]) -> str:
    """The table as a markdown section that says how it was made."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return "\n".join([
        f"Command: `python -m pyshell.evaluate {' '.join(argv)}`  ",
        f"Date: {when}; machine: {machine}; {settings['seconds']:.0f} s.  ",
        f"Sampling: `{json.dumps(settings['sampling'])}`  ",
        f"Policy: `{json.dumps(settings['policy'])}`",
        "",
        table(rows),
        "",
    ])  # fmt: skip


def rescore(path: Path, requests: Path = REQUESTS) -> tuple[list[dict], dict]:
    """Score the stories of an earlier `--json` file again (after a measure changed),
    without writing them again."""
    data = json.loads(path.read_text(encoding="utf-8"))
    cases = {c.id: c for c in load_requests(requests)}
    rows = data["stories"]
    for row in rows:
        case = cases[row["id"]]
        budget = row.get("budget", case.request.max_new_tokens)
        row["score"] = score(case, row["text"], row["score"]["tokens"], budget).to_dict()
    return rows, data["settings"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.rescore:
        rows, settings = rescore(args.rescore, args.requests)
    else:
        rows, settings = asyncio.run(evaluate(args))
    print(table(rows))
    print(json.dumps(settings, ensure_ascii=False))
    if args.markdown:
        args.markdown.write_text(report(rows, settings, argv), encoding="utf-8")
    if args.json:
        args.json.write_text(
            json.dumps({"settings": settings, "stories": rows}, ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
