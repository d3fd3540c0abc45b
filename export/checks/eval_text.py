"""What the built-in checks read: the evaluation story's ids, a graph's logits and the
reference's on them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from export.checks.onnx_io import onnx_logits, session
from export.errors import ExportError
from export.folder.layout import CONFIG_FILE
from export.model import reference
from export.model.weights import Weights
from pyshell.tokenizer import Tokenizer

DEFAULT_TEXT = Path(__file__).resolve().parents[1] / "data" / "eval_story.txt"
MAX_TOKENS = 2048


def tokenize(folder: Path, text: str) -> list[int]:
    """`text`'s ids with BOS, by the folder's own tokenizer (at most MAX_TOKENS)."""
    ids = Tokenizer.from_file(folder / "tokenizer.model").encode(text, add_bos=True)
    if len(ids) < 2:
        raise ExportError("the verification text is empty")
    return ids[:MAX_TOKENS]


def check_ids(folder: Path, text: str | None = None) -> list[int]:
    """The built-in checks' token ids: `text`, or the bundled evaluation story."""
    return tokenize(folder, text if text is not None else DEFAULT_TEXT.read_text())


def graph_logits(folder: Path, model_file: str, text: str | None) -> tuple[list[int], np.ndarray]:
    """The check text's ids, and the graph's (S, vocab) logits on them in one pass."""
    config = json.loads((folder / CONFIG_FILE).read_text())
    ids = check_ids(folder, text)
    return ids, onnx_logits(session(folder, model_file), config, ids, folder)


def source_logits(folder: Path, weights: Weights, text: str | None = None) -> np.ndarray:
    """The float32 reference on the source weights (both graphs' checks share it: ~20 s)."""
    return reference.logits(check_ids(folder, text), weights.tensors, weights.config)
