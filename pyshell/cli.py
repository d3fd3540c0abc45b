"""`python -m pyshell`: tell a story in the terminal with the exported model.

Runs the same loop as the page (pyshell.generate) on onnxruntime in CPython,
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
from pyshell.generate import EmptyPromptError, GenerationResult, TokenEvent, generate
from pyshell.prompts import (
    LANGUAGES,
    LENGTHS,
    StoryRequest,
    StoryRequestError,
    build_prompt,
    surprise,
)
from pyshell.sampler import (
    MAX_REPETITION_PENALTY,
    MAX_TEMPERATURE,
    Sampler,
    SamplingConfig,
    SettingError,
)
from pyshell.story_policy import story_policy
from pyshell.story_style import STORY_STYLE

DEFAULT_MODEL = Path("models") / "gemma-3-270m"
DEFAULT_MAX_TOKENS = 200
REPO_ROOT = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    """Bad command line or settings: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + error
        raise UsageError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    defaults = SamplingConfig()
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
        help=f"most new tokens (default: {DEFAULT_MAX_TOKENS}, or the story --length's)",
    )  # fmt: skip
    g.add_argument(
        "--temperature", type=float, metavar="T",
        help=f"0 … {MAX_TEMPERATURE:g}; 0 is greedy (default: {defaults.temperature:g})",
    )  # fmt: skip
    g.add_argument(
        "--top-k", type=int, metavar="K",
        help=f"sample among the K best candidates, 1 … the model's candidates (64) "
        f"(default: {defaults.top_k})",
    )  # fmt: skip
    g.add_argument(
        "--top-p", type=float, metavar="P",
        help=f"keep the fewest candidates whose probability reaches P, 0 < P ≤ 1 "
        f"(default: {defaults.top_p:g})",
    )  # fmt: skip
    g.add_argument(
        "--repetition-penalty", type=float, metavar="R",
        help=f"1 … {MAX_REPETITION_PENALTY:g}: make tokens the story already used less likely; 1 is off "
        f"(default: {defaults.repetition_penalty:g}; --greedy: 1)",
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
    s.add_argument("--length", choices=list(LENGTHS), help="short, medium or long")
    s.add_argument("--language", choices=list(LANGUAGES), help="en or fr (default: en)")
    s.add_argument("--surprise", action="store_true", help="pick a random story idea (uses --seed)")
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


def sampling_config(args: argparse.Namespace) -> SamplingConfig:
    d = STORY_STYLE.sampling(args.language or "en")
    options = {
        "temperature": 0.0 if args.greedy else d.temperature,
        "top_k": d.top_k,
        "top_p": d.top_p,
        "repetition_penalty": 1.0 if args.greedy else d.repetition_penalty,
        "seed": args.seed,
    }
    for name in ("temperature", "top_k", "top_p", "repetition_penalty"):
        value = getattr(args, name)
        if value is not None:
            if args.greedy and name == "temperature" and value != 0:
                raise UsageError("--greedy and --temperature contradict each other")
            options[name] = value
    return SamplingConfig(**options)


def story_prompt(
    args: argparse.Namespace, variant: str
) -> tuple[str, int | None, StoryRequest | None]:
    """The prompt text and, for a story request, its length's token budget and the request."""
    fields = {k: getattr(args, k) for k in ("character", "setting", "theme", "tone")}
    asked = any(fields.values()) or args.surprise
    if args.prompt is not None and not asked:
        return args.prompt, None, None
    if not asked and args.prompt is None:
        raise UsageError("give a prompt, story options or --surprise (see --help)")
    language, length = args.language or "en", args.length or "medium"
    if args.surprise:
        request = surprise(args.seed, language, length)
    else:
        request = StoryRequest(**fields, length=length, language=language, text=args.prompt or "")
    return build_prompt(request, variant, STORY_STYLE.frame), request.max_new_tokens, request


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

    sampling = sampling_config(args)
    model_dir = find_model(args.model)
    config = load_config(model_dir)
    sampler = Sampler(sampling, config.top_k)
    prompt, budget, request = story_prompt(args, config.variant)
    if not prompt.strip():
        raise UsageError("the prompt is empty: give the story a beginning or a subject")
    max_tokens = args.max_tokens if args.max_tokens is not None else budget or DEFAULT_MAX_TOKENS
    if not 1 <= max_tokens <= config.context_length - 2:
        raise UsageError(
            f"--max-tokens must be between 1 and {config.context_length - 2} (got {max_tokens})"
        )
    try:
        runner = OnnxRunner(model_dir)
    except ModelFolderError as exc:
        raise UsageError(str(exc)) from None
    tokenizer = Tokenizer.from_file(model_dir / "tokenizer.model")
    # --max-tokens is a hard limit; a default budget may stretch to finish the sentence.
    # A story request is written in the story style (pyshell/story_style.py); a bare
    # prompt is continued as it is.
    options = STORY_STYLE.policy_options(request) if request else {}
    policy = story_policy(
        tokenizer, config.stop_ids, finish_sentence=args.max_tokens is None, **options
    )
    prefix = STORY_STYLE.prefix(request) if request and not config.instruction_tuned else None
    out = sys.stdout
    cancelled = False

    def on_interrupt(*_: object) -> None:
        nonlocal cancelled
        cancelled = True

    def on_token(event: TokenEvent) -> None:
        out.write(event.text)
        out.flush()

    def on_notice(text: str) -> None:
        print(f"pyshell: {text}", file=sys.stderr)

    if not args.no_echo and not config.instruction_tuned:  # a chat prompt is no story opening
        out.write(prompt)
        out.flush()
    previous = signal.signal(signal.SIGINT, on_interrupt)  # Ctrl-C stops within a step
    try:
        result = await generate(
            runner, tokenizer, prompt, prefix=prefix,
            sampler=sampler, max_new_tokens=max_tokens,
            stop_ids=config.stop_ids, policy=policy, on_token=on_token, on_notice=on_notice,
            cancel=lambda: cancelled,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, previous)
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
    except (UsageError, SettingError, StoryRequestError, EmptyPromptError, ConfigError) as exc:
        print(f"pyshell: error: {exc}", file=sys.stderr)
        return 2
    return 130 if result.stop_reason == "cancelled" else 0
