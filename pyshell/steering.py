"""Activation steering, measured on the CPU graph: a vector added to the residual stream.

A pretrained model's hidden state after a middle layer carries what kind of text it
is writing. Its mean over simple, coherent children's stories, minus its mean over
the stories the model writes itself, points from the one towards the other; adding a
multiple of that difference after the layer, at every position, nudges what the
model writes next (activation addition). The exported graphs have no such input, so
this is an experiment of the evaluation, not of the page (docs/stories.md, "Steering
the residual stream"):

    python -m pyshell.steering copy --model models/gemma-3-270m --layer 5 --out build/steered
    python -m pyshell.steering vectors --model build/steered \\
        --good en=docs/stories/steering-good-en.txt --good fr=docs/stories/steering-good-fr.txt \\
        --own docs/stories/grown-ups-tuning.json --out build/steered/vectors.json
    python -m pyshell.evaluate --model build/steered --steer build/steered/vectors.json \\
        --steer-strength 1.5 --part tuning,risky --per-language 7

`copy` writes the model folder again with a CPU graph that takes the vector
(`steer`, zeros: the graph as exported, to the bit) and also returns the residual it
is added to (`steering.residual`), which `vectors` averages. CPython only (numpy,
onnx, onnxruntime), like pyshell.onnx_runner.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from pyshell.config import ModelConfig
from pyshell.onnx_runner import ModelFolderError, OnnxRunner
from pyshell.tokenizer import Tokenizer

__all__ = ["SteeredRunner", "add_steering", "load_vectors", "steered_copy", "steering_vectors"]

STEER_INPUT = "steer"
RESIDUAL_OUTPUT = "steering.residual"
RESIDUAL_PREFIX = "residual"  # export/graphs/exact_ops.py names the CPU graph's residual adds so
SKIP_POSITIONS = 4  # BOS and the first tokens carry huge, text-independent states
MAX_TOKENS = 400  # per text: enough for a story, bounded for the prompt run


def add_steering(model: onnx.ModelProto, layer: int, hidden: int) -> None:
    """Give the CPU graph a `steer` input added to the residual stream after `layer`
    (0-based), and a `steering.residual` output: that residual before the vector."""
    graph = model.graph
    residuals = [
        n.output[0]
        for n in graph.node
        if n.op_type == "Add" and n.output[0].startswith(RESIDUAL_PREFIX)
    ]
    if len(residuals) % 2 or not 0 <= layer < len(residuals) // 2:
        raise ValueError(
            f"layer {layer} is not one of this graph's {len(residuals) // 2} layers "
            "(a CPU graph has two residual adds a layer)"
        )
    name = residuals[2 * layer + 1]  # after the layer's MLP: the next layer's input
    steered = f"{name}.steered"
    for node in graph.node:
        node.input[:] = [steered if x == name else x for x in node.input]
    at = next(i for i, n in enumerate(graph.node) if name in n.output) + 1
    graph.node.insert(at, helper.make_node("Add", [name, STEER_INPUT], [steered], "steer_add"))
    graph.node.insert(at, helper.make_node("Identity", [name], [RESIDUAL_OUTPUT], "steer_seen"))
    graph.input.append(helper.make_tensor_value_info(STEER_INPUT, TensorProto.FLOAT, [hidden]))
    graph.output.append(helper.make_tensor_value_info(RESIDUAL_OUTPUT, TensorProto.FLOAT, None))


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def steered_copy(model_dir: Path, out_dir: Path, layer: int) -> Path:
    """The model folder again in `out_dir`, its CPU graph with `add_steering`.

    The other files are hard links where the file system allows (onnxruntime opens
    external data only inside the graph's own folder, so a symbolic link will not do).
    """
    config = ModelConfig.from_file(model_dir)
    graph_file = config.graph("wasm").model
    out_dir.mkdir(parents=True, exist_ok=True)
    for source in model_dir.iterdir():
        target = out_dir / source.name
        if source.is_file() and source.name != graph_file and not target.exists():
            _link_or_copy(source, target)
    model = onnx.load(str(model_dir / graph_file), load_external_data=False)
    add_steering(model, layer, config.hidden_size)
    onnx.save(model, str(out_dir / graph_file))
    return out_dir


class SteeredRunner(OnnxRunner):
    """The CPU graph of a `steered_copy`, run with `vector` added after its layer."""

    def __init__(self, model_dir: str | Path, threads: int | None = None) -> None:
        super().__init__(model_dir, threads, backend="wasm")
        if STEER_INPUT not in {i.name for i in self.session.get_inputs()}:
            raise ModelFolderError(
                f"{self.model_dir / self.model_file} takes no steering vector: write a copy "
                "that does with `python -m pyshell.steering copy`"
            )
        self.vector = np.zeros(self.config.hidden_size, dtype=np.float32)

    def _feeds(self, ids: list[int], keep: int) -> dict[str, np.ndarray]:
        return {**super()._feeds(ids, keep), STEER_INPUT: self.vector}

    def residuals(self, ids: list[int]) -> np.ndarray:
        """The residual at the steering point, (len(ids), hidden) float64, for `ids`
        read from an empty cache (the runner is reset before and after)."""
        self.reset_sync()
        try:
            (seen,) = self.session.run([RESIDUAL_OUTPUT], self._feeds(list(ids), keep=1))
        finally:
            self.reset_sync()
        return np.asarray(seen, dtype=np.float64).reshape(len(ids), -1)


def mean_residual(runner: SteeredRunner, tokenizer: Tokenizer, texts: Iterable[str]) -> np.ndarray:
    """The mean residual over every position of `texts` past the first few."""
    rows = [
        runner.residuals([tokenizer.bos_id, *tokenizer.encode(text)[:MAX_TOKENS]])[SKIP_POSITIONS:]
        for text in texts
    ]
    if not any(len(r) for r in rows):
        raise ValueError("no text long enough to average")
    return np.concatenate(rows).mean(axis=0)


def steering_vectors(
    runner: SteeredRunner,
    tokenizer: Tokenizer,
    good: Mapping[str, list[str]],
    own: Mapping[str, list[str]],
) -> dict[str, np.ndarray]:
    """Per language: mean residual of the `good` stories minus that of the model's `own`."""
    return {
        language: mean_residual(runner, tokenizer, good[language])
        - mean_residual(runner, tokenizer, own[language])
        for language in good
    }


def load_vectors(path: Path) -> dict[str, np.ndarray]:
    """The vectors `python -m pyshell.steering vectors` wrote, by language (float64:
    scale them, then make them the runner's float32 `vector`)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {lang: np.asarray(v, dtype=np.float64) for lang, v in data["vectors"].items()}


def _stories(path: Path) -> list[str]:
    """The stories of a text file, separated by lines of `* * *`."""
    return [s.strip() for s in path.read_text(encoding="utf-8").split("* * *") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pyshell.steering", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser("copy", help="the model folder with a steerable CPU graph")
    copy.add_argument("--model", type=Path, required=True, metavar="DIR")
    copy.add_argument("--layer", type=int, required=True, help="0-based; the vector goes after it")
    copy.add_argument("--out", type=Path, required=True, metavar="DIR")
    vectors = commands.add_parser("vectors", help="mean residual differences per language")
    vectors.add_argument("--model", type=Path, required=True, metavar="DIR", help="a copy")
    vectors.add_argument(
        "--good", action="append", required=True, metavar="LANG=FILE",
        help="stories to steer towards, separated by lines of * * *",
    )  # fmt: skip
    vectors.add_argument(
        "--own", type=Path, nargs="+", required=True, metavar="JSON",
        help="`python -m pyshell.evaluate --json` files: the model's own stories",
    )  # fmt: skip
    vectors.add_argument("--out", type=Path, required=True, metavar="FILE")
    args = parser.parse_args(argv)
    if args.command == "copy":
        print(steered_copy(args.model, args.out, args.layer))
        return 0
    good = {}
    for item in args.good:
        language, _, file = item.partition("=")
        good[language] = _stories(Path(file))
    own: dict[str, list[str]] = {language: [] for language in good}
    for path in args.own:
        for story in json.loads(path.read_text(encoding="utf-8"))["stories"]:
            own.setdefault(story["language"], []).append(story["text"])
    runner = SteeredRunner(args.model)
    tokenizer = Tokenizer.from_file(args.model / "tokenizer.model")
    found = steering_vectors(runner, tokenizer, good, own)
    args.out.write_text(
        json.dumps({
            "model": str(args.model),
            "good": {lang: len(texts) for lang, texts in good.items()},
            "own": {lang: len(own[lang]) for lang in good},
            "vectors": {lang: v.tolist() for lang, v in found.items()},  # float64, exactly
        }),
        encoding="utf-8",
    )  # fmt: skip
    for language, v in found.items():
        print(f"{language}: |v| = {np.linalg.norm(v):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
