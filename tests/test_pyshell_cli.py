"""`python -m pyshell` end to end: errors, and parity with an independent loop.

The parity tests run the terminal command and, separately, a plain greedy
loop written here on onnxruntime and sentencepiece directly (pyshell gives it
only the banned ids, pyshell/banned_tokens.py, tested on its own): both must
produce the same token ids from the same model folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Once upon a time, in a small village,"


def pyshell(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pyshell", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def printed_ids(result: subprocess.CompletedProcess) -> list[int]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.rstrip("\n").rsplit("\n", 1)[-1])


def independent_greedy(model_dir: Path, prompt: str, max_new: int) -> list[int]:
    """Greedy decoding straight on the ONNX session: BOS + prompt, then argmax of
    the full logits row without the banned ids and without a token that would write
    a 5-gram of the story a third time (the story style's loop guard), one token per
    run, present KV fed back as past KV."""
    import onnxruntime as ort
    import sentencepiece as spm

    from pyshell.banned_tokens import banned_ids
    from pyshell.tokenizer import Tokenizer

    config = json.loads((model_dir / "conteur.json").read_text())
    stops = {config["tokens"]["eos"], config["tokens"].get("end_of_turn")}
    banned = sorted(banned_ids(Tokenizer.from_file(model_dir / "tokenizer.model"), stops))
    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "tokenizer.model"))
    session = ort.InferenceSession(
        str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    past = {
        i.name: np.zeros((1, i.shape[1], 0, i.shape[3]), np.float32)
        for i in session.get_inputs()
        if i.name.startswith("past_key_values.")
    }
    presents = [name.replace("past_key_values.", "present.") for name in past]
    feed = [sp.bos_id(), *sp.encode(prompt)]
    out: list[int] = []
    grams: dict[tuple[int, ...], dict[int, int]] = {}  # 4 tokens → {next: times written}
    while len(out) < max_new:
        logits, *kv = session.run(
            ["logits", *presents],
            {
                "input_ids": np.array([feed], np.int64),
                "num_logits_to_keep": np.array(1, np.int64),
                **past,
            },
        )
        past = dict(zip(past, kv))
        row = logits[0, -1].copy()
        row[banned] = -np.inf
        if len(out) >= 4:
            for again, times in grams.get(tuple(out[-4:]), {}).items():
                if times >= 2:
                    row[again] = -np.inf
        token = int(np.argmax(row))
        if token in stops:
            break
        out.append(token)
        if len(out) >= 5:
            after = grams.setdefault(tuple(out[-5:-1]), {})
            after[token] = after.get(token, 0) + 1
        feed = [token]
    return out


def decode(model_dir: Path, ids: list[int]) -> str:
    import sentencepiece as spm

    return spm.SentencePieceProcessor(model_file=str(model_dir / "tokenizer.model")).decode(ids)


# --- without a model ---------------------------------------------------------------------


def test_help_documents_every_option():
    result = pyshell("--help")
    assert result.returncode == 0
    for option in (
        "--model", "--max-tokens", "--temperature", "--top-k", "--top-p",
        "--repetition-penalty", "--seed", "--greedy", "--ids", "--no-family-safe",
    ):  # fmt: skip
        assert option in result.stdout


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyshell: error: "), result.stderr
    return lines[0]


def test_missing_model_folder(tmp_path):
    line = one_error_line(pyshell("--model", str(tmp_path / "nowhere"), "Hello"))
    assert "no model folder at" in line and "python -m export" in line


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--temperature", "3"], "temperature must be between 0 and 2"),
        (["--top-p", "0"], "top-p must be greater than 0"),
        (["--repetition-penalty", "5"], "repetition penalty must be between 1 and 2"),
        (["--top-k", "0"], "top-k must be at least 1 (got 0)"),
        (["--seed", "-4"], "seed must be between 0 and 18446744073709551615 (got -4)"),
        (["--temperature", "warm"], "invalid float value"),
        (["--greedy", "--temperature", "0.7"], "contradict"),
        (["--length", "epic"], "invalid choice"),
    ],
)
def test_bad_settings_fail_before_loading_the_model(tmp_path, args, words):
    line = one_error_line(pyshell("--model", str(tmp_path / "nowhere"), *args, "Hello"))
    assert words in line


# --- with the tiny model ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([], "give a prompt, story options or --surprise"),
        ([""], "the prompt is empty"),
        (["--top-k", "65", "Hello"], "top-k must be between 1 and 64 (got 65)"),
        (["--max-tokens", "0", "Hello"], "max length must be between 1 and 254 (got 0)"),
        (["--character", "x" * 300], "character is 300 characters long"),
        (["--character", "a drunk pirate"], "character holds “drunk”, which family-safe"),
        (["--theme", "un meurtre", "--language", "fr"], "theme holds “meurtre”"),
    ],
)
def test_bad_requests_with_a_model(tiny_model_dir, args, words):
    line = one_error_line(pyshell("--model", str(tiny_model_dir), *args))
    assert words in line


def test_tiny_greedy_story_equals_an_independent_loop(tiny_model_dir):
    result = pyshell(
        "--model", str(tiny_model_dir), "--greedy", "--max-tokens", "30", "--ids",
        "--no-family-safe", PROMPT,  # the independent loop knows the banned ids only
    )  # fmt: skip
    ids = printed_ids(result)
    assert ids == independent_greedy(tiny_model_dir, PROMPT, 30)
    assert result.stdout.startswith(PROMPT + decode(tiny_model_dir, ids))
    assert "stop:" in result.stderr


def test_the_default_budget_is_the_page_s(tiny_model_dir):
    """Without --max-tokens the CLI writes the story the page would: pyshell.story.write_story
    with the story length's budget (medium: half the tiny model's 256-token context)."""
    import asyncio

    from pyshell.config import ModelConfig
    from pyshell.onnx_runner import OnnxRunner
    from pyshell.story import write_story
    from pyshell.tokenizer import Tokenizer

    result = pyshell("--model", str(tiny_model_dir), "--seed", "7", "--ids", PROMPT)
    config = ModelConfig.from_file(tiny_model_dir)
    tokenizer = Tokenizer.from_file(tiny_model_dir / "tokenizer.model")
    story = asyncio.run(
        write_story(OnnxRunner(tiny_model_dir), tokenizer, config, PROMPT, {"seed": "7"})
    )
    assert story.plan.settings.max_new_tokens == 128
    assert printed_ids(result) == story.generation.ids
    assert len(story.generation.ids) <= 128 * 1.25  # may finish its sentence, within 25 %
    assert result.stdout.startswith(PROMPT + story.generation.text)


def test_tiny_seeded_story_is_reproducible(tiny_model_dir):
    args = (
        "--model",
        str(tiny_model_dir),
        "--seed",
        "42",
        "--temperature",
        "1",
        "--max-tokens",
        "20",
    )
    first, second = pyshell(*args, "--ids", PROMPT), pyshell(*args, "--ids", PROMPT)
    assert printed_ids(first) == printed_ids(second)
    assert first.stdout == second.stdout
    assert "seed 42" in first.stderr


def test_story_options_build_the_prompt(tiny_model_dir):
    result = pyshell(
        "--model", str(tiny_model_dir), "--character", "a curious fox", "--setting",
        "a small village", "--max-tokens", "4", "--greedy",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "A bedtime story for children about a curious fox.\n\n"
        "Once upon a time, in a small village, there lived a curious fox. The fox"
    )
    surprise = pyshell(
        "--model", str(tiny_model_dir), "--surprise", "--seed", "3", "--max-tokens", "4"
    )
    assert surprise.returncode == 0, surprise.stderr
    assert surprise.stdout.startswith(
        "An adventurous bedtime story for children about a shy dragon and kindness.\n\n"
        "Once upon a time,"
    )


# --- with the real model -------------------------------------------------------------------------


@pytest.mark.real_model
def test_real_greedy_story_equals_an_independent_loop(real_model_dir):
    result = pyshell(
        "--model", str(real_model_dir), "--greedy", "--max-tokens", "48", "--ids",
        "--no-family-safe", PROMPT,  # the independent loop knows the banned ids only
    )  # fmt: skip
    ids = printed_ids(result)
    assert len(ids) >= 40
    assert ids == independent_greedy(real_model_dir, PROMPT, 48)
    story = decode(real_model_dir, ids)
    assert result.stdout.startswith(PROMPT + story)
    # docs/facts/model.md: the float32 reference's continuation
    assert story.startswith(" there lived")


@pytest.mark.real_model
def test_real_seeded_story_is_identical_across_runs(real_model_dir):
    args = ("--model", str(real_model_dir), "--seed", "1234", "--max-tokens", "24", "--ids", PROMPT)
    first, second = pyshell(*args), pyshell(*args)
    assert len(printed_ids(first)) > 0
    assert printed_ids(first) == printed_ids(second)
    assert first.stdout == second.stdout


@pytest.mark.real_model
def test_real_story_is_family_safe_unless_told_otherwise(real_model_dir):
    from pyshell.family_safe import listed_words

    prompt = "The soldiers laughed and drank a bottle of"
    args = ("--model", str(real_model_dir), "--greedy", "--max-tokens", "12", "--no-echo")
    plain, safe = pyshell(*args, "--no-family-safe", prompt), pyshell(*args, prompt)
    assert plain.returncode == safe.returncode == 0, (plain.stderr, safe.stderr)
    assert "wine" in listed_words(plain.stdout, "en")  # greedy: " wine.\n…"
    assert listed_words(safe.stdout, "en") == [] and safe.stdout.strip()
