"""The NOTICE file the Gemma Terms of Use ask derivatives to carry: what was changed, per graph."""

from __future__ import annotations

import textwrap
from pathlib import Path

from export.folder.layout import CPU_DATA_FILE, CPU_MODEL_FILE, CPU_REST_FILE, DATA_FILE, MODEL_FILE
from export.model.weights import Source
from export.quantize.schemes import Scheme

HEADER = """\
Gemma is provided under and subject to the Gemma Terms of Use found at
ai.google.dev/gemma/terms (a copy is in GEMMA_TERMS.html in this folder).

This folder holds a modified version of Gemma 3 270M ({variant}).

Source: {source}

Modifications made by the Conteur exporter:
"""
WIDTH = 80


def notice_text(source: Source, variant: str, scheme: Scheme, vocab_size: int, head: dict) -> str:
    """The NOTICE for this export; `head` is the CPU graph's conteur.json head entry."""
    kind = "GGUF file" if source.kind == "gguf" else "Hugging Face checkpoint"
    sha = f" (sha256 {source.sha256})" if source.sha256 else ""
    layers = ", ".join(sorted({str(p) for p in scheme.layers.values()}))
    tokenizer = (
        "rebuilt from the GGUF's tokenizer fields as a SentencePiece model"
        if source.kind == "gguf"
        else "copied unchanged from the checkpoint"
    )
    items = [
        (
            "format: converted to two ONNX graphs for onnxruntime, one per backend, each with "
            "float32 activations and its weights in its own data file; both take the same inputs "
            "and give the same outputs;"
        ),
        (
            f"{MODEL_FILE} + {DATA_FILE}, the WebGPU graph: contrib operators MatMulNBits, "
            "GatherBlockQuantized, GroupQueryAttention, RotaryEmbedding and "
            "SimplifiedLayerNormalization; weights dequantized from the source and re-quantized "
            f'with the "{scheme.name}" scheme ({scheme.description}): layer matrices {layers}, '
            "each 8-bit matrix stored as two 4-bit planes; token embedding and output head "
            f"{scheme.bands_text(vocab_size)}, one copy shared by the lookup and the head; block "
            "scales in float16;"
        ),
        (
            f"{CPU_MODEL_FILE} + {CPU_DATA_FILE}, the CPU (WebAssembly) graph: each layer "
            "matrix smoothed per input channel (scales measured on stories the model wrote, "
            "folded into the norm weights and the up-projection so that the function is "
            "unchanged), then rounded to int8 with one scale per output column and run by "
            "MatMulInteger, each matrix input rounded to int8 per token; "
            f"{cpu_head_text(head)}; norms, rotary tables, attention and gelu computed in float64 "
            "and rounded once to float32;"
        ),
        f"tokenizer: tokenizer.model {tokenizer};",
        (
            "nothing was trained or fine-tuned: the model computes Gemma 3's function with "
            "quantized weights, so its outputs differ slightly from the original's."
        ),
    ]
    bullets = [
        textwrap.fill(
            item, WIDTH, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False
        )
        for item in items
    ]
    header = HEADER.format(variant=variant, source=f"{kind} {Path(source.path).name}{sha}")
    return header + "\n".join(bullets) + "\n"


def cpu_head_text(head: dict) -> str:
    """The CPU graph's output head and input embedding, in words."""
    if head["kept"] >= head["of"]:
        return (
            f"output head: all {head['of']:,} tokens, int8; input embedding: each token's row "
            "read back from the head's int8 columns"
        )
    name, rule = head["rule"].split(":", 1)
    return (
        f"output head: {head['kept']:,} of the {head['of']:,} tokens, int8, the {name} "
        f"({rule.strip()}), the others get no logit; input embedding: the kept tokens' rows "
        "read back from the head's int8 columns, every other token's row int4 (blocks of 32) "
        f"in {CPU_REST_FILE}"
    )
