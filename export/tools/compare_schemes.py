"""`python -m export.tools.compare_schemes`: measure every quantization scheme on one text.

For each scheme: the weight bytes it stores and its fidelity (perplexity ratio,
KL, top-1) against the float32 reference on the source weights. The numpy
reference runs on each scheme's dequantized weights; the ONNX graph computes the
same numbers to ~1e-4 (tests/test_export_real.py), so no export is needed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import sentencepiece as spm

from export.checks.eval_text import DEFAULT_TEXT
from export.checks.metrics import fidelity
from export.model import reference
from export.quantize.quantized_model import QuantizedModel, dequantized_tensors, quantize_weights
from export.quantize.schemes import SCHEMES
from export.sources.default_package import default_gguf
from export.sources.loader import load_gguf

REPO_ROOT = Path(__file__).resolve().parents[2]


def stored_bytes(model: QuantizedModel) -> int:
    return sum(m.nbytes for m in model.matrices.values()) + sum(
        m.nbytes for _, m in model.embedding
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m export.tools.compare_schemes", description=__doc__
    )
    parser.add_argument("--text", type=Path, default=DEFAULT_TEXT)
    parser.add_argument("--schemes", nargs="*", default=sorted(SCHEMES))
    args = parser.parse_args()
    loaded = load_gguf(default_gguf(REPO_ROOT / "build" / "cache"))
    weights = loaded.weights
    sp = spm.SentencePieceProcessor(model_proto=loaded.tokenizer_model)
    ids = [sp.bos_id(), *sp.encode(args.text.read_text())]
    source = reference.logits(ids, weights.tensors, weights.config)
    print("| scheme | weights MB | perplexity ratio | KL | top-1 |")
    print("|---|---|---|---|---|")
    for name in args.schemes:
        model = quantize_weights(weights, SCHEMES[name])
        got = reference.logits(ids, dequantized_tensors(model), weights.config)
        m = fidelity(source, got, ids)
        size = stored_bytes(model) / 1e6
        print(
            f"| {name} | {size:.1f} | {m['ppl_ratio']:.3f} | {m['kl']:.3f} | "
            f"{100 * m['top1']:.1f} % |",
            flush=True,
        )
        print(json.dumps({"scheme": name, "weights_mb": round(size, 1), **m}), flush=True)


if __name__ == "__main__":
    main()
