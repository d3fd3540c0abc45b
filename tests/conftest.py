"""Shared fixtures: a tiny random model (GGUF + HF twin) and the real exported model.

Exports are cached in build/test-models/ and models/ and rebuilt only when the
exporter version changes, so the slow real-model tests reuse one export.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_MODELS = ROOT / "build" / "test-models"
REAL_MODEL = ROOT / "models" / "gemma-3-270m"
EVAL_TEXT = ROOT / "export" / "data" / "eval_story.txt"


def train_tiny_tokenizer(folder: Path) -> Path:
    """A ~400-piece SentencePiece BPE model with Gemma's settings and special ids."""
    import sentencepiece as spm

    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / "tiny"
    spm.SentencePieceTrainer.train(
        input=str(EVAL_TEXT),
        model_prefix=str(prefix),
        vocab_size=400,
        model_type="bpe",
        byte_fallback=True,
        split_digits=True,
        normalization_rule_name="identity",
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True,
        character_coverage=1.0,
        pad_id=0,
        eos_id=1,
        bos_id=2,
        unk_id=3,
        user_defined_symbols=["<start_of_turn>", "<end_of_turn>"],
        minloglevel=2,
        num_threads=1,
    )
    return prefix.with_suffix(".model")


def run_export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "export", "--quiet", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )


@pytest.fixture(scope="session")
def tiny_sources() -> dict:
    """The tiny model written both ways, plus its float32 weights and config."""
    from export.sources.tokenizer_model import tokenizer_fields_from_model
    from tests.tiny_model import random_tensors, tiny_config, write_gguf, write_hf

    folder = TEST_MODELS / "tiny-sources"
    shutil.rmtree(folder, ignore_errors=True)
    tokenizer = train_tiny_tokenizer(folder)
    fields = tokenizer_fields_from_model(tokenizer)
    config = tiny_config(len(fields["tokens"]))
    tensors = random_tensors(config)
    write_gguf(folder / "tiny.gguf", config, tensors, fields)
    write_hf(folder / "tiny-hf", config, tensors, tokenizer)
    return {
        "gguf": folder / "tiny.gguf",
        "hf": folder / "tiny-hf",
        "tokenizer": tokenizer,
        "config": config,
        "tensors": tensors,
    }


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_sources) -> Path:
    """The tiny GGUF exported with the default scheme."""
    out = TEST_MODELS / "tiny"
    result = run_export("--gguf", str(tiny_sources["gguf"]), "--out", str(out), "--name", "tiny")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def real_model_dir() -> Path:
    """The real Gemma 3 270M export (models/gemma-3-270m), made once and reused."""
    from export.folder.layout import is_current

    if not is_current(REAL_MODEL):
        result = run_export()
        assert result.returncode == 0, result.stderr
        print(result.stdout)
    return REAL_MODEL


@pytest.fixture(scope="session")
def real_config(real_model_dir) -> dict:
    return json.loads((real_model_dir / "conteur.json").read_text())


@pytest.fixture(scope="session")
def real_source_weights(real_model_dir):
    """Float32 weights of the source GGUF (the fidelity reference), read once."""
    from export.sources.gguf_file import read_gguf

    weights, _ = read_gguf(ROOT / "build" / "cache" / "gemma-3-270m-q4_k_m.gguf")
    return weights


@pytest.fixture(scope="session")
def real_exported_tensors(real_source_weights) -> dict:
    """The float32 values of the weights the exported graph computes with."""
    from export.quantize.quantized_model import dequantized_tensors, quantize_weights
    from export.quantize.schemes import SCHEMES

    return dequantized_tensors(quantize_weights(real_source_weights, SCHEMES["default"]))
