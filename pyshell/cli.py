"""`python -m pyshell`: tell a story in the terminal with the exported model.

Writes the story the way the page does (pyshell.story.write_story: the same
settings rules, default budget and story policy) on onnxruntime in CPython,
streaming the text as it comes; timing goes to stderr so stdout holds only
the story (and, with --ids, one JSON line of token ids for scripts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from pyshell.config import ConfigError, ModelConfig
from pyshell.errors import Notice, PyshellError
from pyshell.generate import GenerationResult, TokenEvent
from pyshell.prompts import LANGUAGES, LENGTHS, StoryRequest, surprise
from pyshell.settings import REPETITION_PENALTY, TEMPERATURE, TOP_K, TOP_P, parse_sampling
from pyshell.story import plan_story, write_story

DEFAULT_MODEL = Path("models") / "gemma-3-270m"
REPO_ROOT = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    """Bad command line or settings: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + error
        raise UsageError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m pyshell",
        description="Continue PROMPT as a story with the exported Gemma model, streaming the "
        "text to stdout. Instead of a prompt, story options (--character, --setting, …) or "
        "--surprise build one.",
    )
    p.add_argument("prompt", nargs="?", help="the story's first words")
    p.add_argument(
        "--model", type=Path, metavar="DIR",
        help=f"exported model folder (default: {DEFAULT_MODEL} in the current folder, "
        "else in the repository)",
    )  # fmt: skip
    g = p.add_argument_group("sampling")
    g.add_argument(
        "--max-tokens", type=int, metavar="N",
        help="most new tokens, a hard limit (default: the --length's budget, at most half the "
        "model's context, which the story may pass by a little to finish its sentence)",
    )  # fmt: skip
    g.add_argument(
        "--temperature", type=float, metavar="T",
        help=f"{TEMPERATURE.low:g} … {TEMPERATURE.high:g}; 0 is greedy "
        f"(default: {TEMPERATURE.default:g})",
    )  # fmt: skip
    g.add_argument(
        "--top-k", type=int, metavar="K",
        help=f"sample among the K best candidates, {TOP_K.low} … the model's candidates (64) "
        f"(default: {TOP_K.default})",
    )  # fmt: skip
    g.add_argument(
        "--top-p", type=float, metavar="P",
        help=f"keep the fewest candidates whose probability reaches P, {TOP_P.low:g} < P ≤ "
        f"{TOP_P.high:g} (default: {TOP_P.default:g})",
    )  # fmt: skip
    g.add_argument(
        "--repetition-penalty", type=float, metavar="R",
        help=f"{REPETITION_PENALTY.low:g} … {REPETITION_PENALTY.high:g}: make tokens the story "
        f"already used less likely; 1 is off "
        f"(default: {REPETITION_PENALTY.default:g}; --greedy: 1)",
    )  # fmt: skip
    g.add_argument(
        "--seed", type=int, metavar="S",
        help="random seed for reproducible sampling (default: a fresh one, shown at the end)",
    )  # fmt: skip
    g.add_argument(
        "--greedy", action="store_true",
        help="always take the most likely token (temperature 0, no repetition penalty)",
    )  # fmt: skip
    s = p.add_argument_group("story (instead of PROMPT)")
    s.add_argument("--character", help='e.g. "a curious fox"')
    s.add_argument("--setting", help='e.g. "a small village by the sea"')
    s.add_argument("--theme", help='e.g. "friendship"')
    s.add_argument("--tone", help='e.g. "funny"')
    s.add_argument(
        "--length", choices=list(LENGTHS),
        help="short, medium or long: the story's budget, with a PROMPT too (default: medium)",
    )  # fmt: skip
    s.add_argument("--language", choices=list(LANGUAGES), help="en or fr (default: en)")
    s.add_argument("--surprise", action="store_true", help="pick a random story idea (uses --seed)")
    s.add_argument(
        "--no-family-safe", action="store_true",
        help="let the story write the words family-safe stories leave out "
        "(pyshell/data/family_safe/; the --language's list is used otherwise)",
    )  # fmt: skip
    o = p.add_argument_group("output")
    o.add_argument("--ids", action="store_true", help="end with the generated token ids as JSON")
    o.add_argument("--quiet", action="store_true", help="no timing line on stderr")
    o.add_argument("--no-echo", action="store_true", help="print only the new text, not the prompt")
    return p


def find_model(given: Path | None) -> Path:
    if given is not None:
        return given
    for base in (Path.cwd(), REPO_ROOT):
        if (base / DEFAULT_MODEL).is_dir():
            return base / DEFAULT_MODEL
    return Path.cwd() / DEFAULT_MODEL


def settings_values(args: argparse.Namespace) -> dict[str, object]:
    """The options as the settings form's values (pyshell.settings): None takes the default."""
    values: dict[str, object] = {
        "temperature": args.temperature,
        "top_k": args.top_k,
        "top_p": args.top_p,
        "repetition_penalty": args.repetition_penalty,
        "seed": args.seed,
        "max_new_tokens": args.max_tokens,
        "family_safe": not args.no_family_safe,
    }
    if args.greedy:
        if args.temperature not in (None, 0):
            raise UsageError("--greedy and --temperature contradict each other")
        values["temperature"] = 0.0
        if args.repetition_penalty is None:
            values["repetition_penalty"] = 1.0
    return values


def story_of(args: argparse.Namespace) -> StoryRequest | str:
    """The story request the options describe, or the prompt itself."""
    fields = {k: getattr(args, k) for k in ("character", "setting", "theme", "tone")}
    asked = any(fields.values()) or args.surprise
    if args.prompt is not None and not asked:
        return args.prompt
    if not asked and args.prompt is None:
        raise UsageError("give a prompt, story options or --surprise (see --help)")
    language, length = args.language or "en", args.length or "medium"
    if args.surprise:
        return surprise(args.seed, language, length)
    return StoryRequest(**fields, length=length, language=language, text=args.prompt or "")


def format_stats(result: GenerationResult) -> str:
    s = result.stats
    return (
        f"[{s.prompt_tokens} prompt tokens at {s.prefill_tokens_per_second:.0f} tok/s, "
        f"{s.generated_tokens} new at {s.decode_tokens_per_second:.1f} tok/s, "
        f"first token after {s.time_to_first_token:.2f} s; stop: {result.stop_reason}; "
        f"seed {result.seed}]"
    )


def load_config(model_dir: Path) -> ModelConfig:
    if not model_dir.is_dir():
        raise UsageError(
            f"no model folder at {model_dir}: export one with `python -m export` "
            "or give --model DIR"
        )
    try:
        return ModelConfig.from_file(model_dir)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


async def run(args: argparse.Namespace) -> GenerationResult:
    """Check everything cheap first, so mistakes fail before the slow model load."""
    from pyshell.onnx_runner import ModelFolderError, OnnxRunner  # numpy/onnxruntime: CLI only
    from pyshell.tokenizer import Tokenizer

    settings = settings_values(args)
    parse_sampling(settings)  # before looking for the model: its candidates come later
    model_dir = find_model(args.model)
    config = load_config(model_dir)
    story = story_of(args)
    length, language = args.length or "medium", args.language or "en"
    # the prompt, the budget, top-k, and no listed word in a family-safe request
    plan_story(config, story, settings, length=length, language=language)
    try:
        runner = OnnxRunner(model_dir)
    except ModelFolderError as exc:
        raise UsageError(str(exc)) from None
    tokenizer = Tokenizer.from_file(model_dir / "tokenizer.model")
    out = sys.stdout
    cancelled = False

    def on_interrupt(*_: object) -> None:
        nonlocal cancelled
        cancelled = True

    def echo(text: str) -> None:  # a chat prompt is no story opening: write_story skips it
        out.write(text)
        out.flush()

    def on_token(event: TokenEvent) -> None:
        echo(event.text)

    def on_notice(notice: Notice) -> None:
        print(f"pyshell: {notice.message}", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_interrupt)  # Ctrl-C stops within a step
    try:
        written = await write_story(
            runner, tokenizer, config, story, settings, length=length, language=language,
            on_prompt=None if args.no_echo else echo, on_token=on_token, on_notice=on_notice,
            cancel=lambda: cancelled,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, previous)
    result = written.generation
    out.write("\n")
    if args.ids:
        out.write(json.dumps(result.ids) + "\n")
    out.flush()
    if not args.quiet:
        print(format_stats(result), file=sys.stderr)
    return result


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        result = asyncio.run(run(args))
    except (UsageError, PyshellError, ConfigError) as exc:
        print(f"pyshell: error: {exc}", file=sys.stderr)
        return 2
    return 130 if result.stop_reason == "cancelled" else 0
