"""Open an exported graph with CPython onnxruntime and read its logits for a whole text.

The checks open each graph with onnxruntime's default options: they compare
numbers against tolerances. Bit-exact replays of what the page computes go through
pyshell's OnnxRunner, which opens a graph as conteur.json's `session` says.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from export.folder.layout import MODEL_FILE
from pyshell.rest_rows import graph_rest_rows, takes_rest_rows


def session(folder: Path, model_file: str = MODEL_FILE) -> ort.InferenceSession:
    """A CPU session on `folder / model_file`, quiet except for errors."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(
        str(folder / model_file), options, providers=["CPUExecutionProvider"]
    )


# The KV cache's element types as onnxruntime names a graph's inputs.
ORT_KV_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def past_dtype(sess: ort.InferenceSession) -> type:
    """The numpy type of the graph's past_key_values inputs (float32, or float16 on the CPU graph)."""
    kinds = {i.type for i in sess.get_inputs() if i.name.startswith("past_key_values.")}
    (kind,) = kinds
    return ORT_KV_TYPES[kind]


def empty_past(config: dict, dtype: type = np.float32) -> dict[str, np.ndarray]:
    """Past KV inputs of length 0, (1, kv_heads, 0, head_dim) each, from conteur.json."""
    arch = config["architecture"]
    shape = (1, arch["num_kv_heads"], 0, arch["head_dim"])
    return {
        f"past_key_values.{i}.{part}": np.zeros(shape, dtype)
        for i in range(arch["num_layers"])
        for part in ("key", "value")
    }


def onnx_logits(
    sess: ort.InferenceSession, config: dict, ids: list[int], folder: Path | None = None
) -> np.ndarray:
    """(S, vocab) logits for every position, in one prefill pass. The CPU graph also
    reads the rows of any token outside its head from `folder`'s rest file."""
    feeds = {
        "input_ids": np.asarray([ids], np.int64),
        "num_logits_to_keep": np.array(len(ids), np.int64),
        **empty_past(config, past_dtype(sess)),
    }
    if takes_rest_rows(i.name for i in sess.get_inputs()):
        if folder is None:
            raise ValueError("this graph takes rest rows: pass the folder that holds its rest file")
        feeds.update(graph_rest_rows(Path(folder)).feeds(ids))
    (logits,) = sess.run(["logits"], feeds)
    return logits[0]
