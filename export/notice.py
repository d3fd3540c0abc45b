"""The NOTICE file the Gemma Terms of Use ask derivatives to carry."""

from __future__ import annotations

from export.scheme import Scheme
from export.weights import Source

NOTICE_TEMPLATE = """\
Gemma is provided under and subject to the Gemma Terms of Use found at
ai.google.dev/gemma/terms (a copy is in GEMMA_TERMS.html in this folder).

This folder holds a modified version of Gemma 3 270M ({variant}).

Source: {source_kind} {source_name}{sha}

Modifications made by the Conteur exporter:
- format: converted to an ONNX graph for onnxruntime (contrib operators
  MatMulNBits, GatherBlockQuantized, GroupQueryAttention, RotaryEmbedding,
  SimplifiedLayerNormalization), float32 activations, weights in model.onnx.data;
- weights: dequantized from the source and re-quantized with the "{scheme}" scheme:
  {description}; layer matrices {layers}; token embedding and output head
  {embedding}, one copy shared by the lookup and the head; block scales in float16;
- tokenizer: tokenizer.model {tokenizer_note};
- nothing was trained or fine-tuned: the model computes Gemma 3's function with
  quantized weights, so its outputs differ slightly from the original's.
"""


def notice_text(source: Source, scheme: Scheme) -> str:
    from pathlib import Path

    layers = sorted({str(p) for p in scheme.layers.values()})
    return NOTICE_TEMPLATE.format(
        variant=source.variant,
        source_kind="GGUF file" if source.kind == "gguf" else "Hugging Face checkpoint",
        source_name=Path(source.path).name,
        sha=f" (sha256 {source.sha256})" if source.sha256 else "",
        scheme=scheme.name,
        description=scheme.description,
        layers=", ".join(layers),
        embedding=str(scheme.embedding),
        tokenizer_note=(
            "rebuilt from the GGUF's tokenizer fields as a SentencePiece model"
            if source.kind == "gguf"
            else "copied unchanged from the checkpoint"
        ),
    )
