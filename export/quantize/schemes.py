"""Quantization schemes: which bit width and block size each matrix gets.

Measured on the real model (docs/export.md has the table): int4 on the layers
costs 4-25 % perplexity, and the tied output head is the most sensitive matrix.
The default keeps the layers at 8 bit and splits the shared embedding/head by
vocabulary rows: frequent tokens 8 bit, the long tail int4.
"""

from __future__ import annotations

from dataclasses import dataclass

from export.model.weights import LAYER_MATRICES


@dataclass(frozen=True)
class Precision:
    bits: int
    block: int

    def __str__(self) -> str:
        return f"int{self.bits}/b{self.block}"


@dataclass(frozen=True)
class RowBand:
    """Rows [start, next band's start) of the tied embedding/head at one precision."""

    rows: int | None  # how many rows; None: the rest of the vocabulary
    precision: Precision


@dataclass(frozen=True)
class Scheme:
    """Per-kind precision of the layer matrices plus the tied embedding/head bands."""

    name: str
    layers: dict[str, Precision]
    embedding: tuple[RowBand, ...]
    description: str

    def bands(self, vocab_size: int) -> list[tuple[int, int, Precision]]:
        """(start, stop, precision) per band. A vocabulary smaller than twice the first
        band (the tiny test models) is split in half so every band is exercised."""
        out, start = [], 0
        for band in self.embedding:
            rows = vocab_size - start if band.rows is None else band.rows
            if band.rows is not None and vocab_size < 2 * band.rows:
                rows = vocab_size // 2 if start == 0 else rows
            stop = min(vocab_size, start + rows)
            if stop > start:
                out.append((start, stop, band.precision))
            start = stop
        return out

    def bands_text(self, vocab_size: int) -> str:
        """The bands in words, e.g. "rows 0-32,767 int8/b32, rows 32,768-262,143 int4/b32"."""
        return ", ".join(
            f"rows {start:,}-{stop - 1:,} {precision}"
            for start, stop, precision in self.bands(vocab_size)
        )

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "embedding_and_head": [
                {"rows": b.rows if b.rows is not None else "rest", "precision": str(b.precision)}
                for b in self.embedding
            ],
            "layers": {kind: str(p) for kind, p in self.layers.items()},
            "scales": "float16",
            "activations": "float32",
        }


def _uniform(p: Precision) -> dict[str, Precision]:
    return {kind: p for kind in LAYER_MATRICES}


INT4 = Precision(4, 32)
INT4_FINE = Precision(4, 16)
INT8 = Precision(8, 32)

# Token ids of a BPE vocabulary follow merge order, so low ids are the frequent
# tokens: they carry most of the probability mass and get 8 bit.
FREQUENT_ROWS = 32768

SCHEMES = {
    "default": Scheme(
        "default",
        _uniform(INT8),
        (RowBand(FREQUENT_ROWS, INT8), RowBand(None, INT4)),
        "8-bit layers; embedding/head: the 32,768 most frequent tokens 8 bit, the rest int4",
    ),
    "compact": Scheme(
        "compact",
        {**_uniform(INT8), "q": INT4, "k": INT4, "o": INT4},
        (RowBand(FREQUENT_ROWS, INT8), RowBand(None, INT4)),
        "like default, with int4 attention q, k and output matrices",
    ),
    "head16": Scheme(
        "head16",
        _uniform(INT8),
        (RowBand(None, INT4_FINE),),
        "8-bit layers; embedding/head int4 with blocks of 16",
    ),
    "mixed": Scheme(
        "mixed",
        {**_uniform(INT4), "up": INT8, "down": INT8, "v": INT8},
        (RowBand(None, INT4),),
        "8-bit ffn up/down and attention v, int4 elsewhere (block 32)",
    ),
    "int4": Scheme("int4", _uniform(INT4), (RowBand(None, INT4),), "plain int4 everywhere"),
    "int8": Scheme(
        "int8",
        _uniform(INT8),
        (RowBand(131072, INT8), RowBand(None, INT8)),  # two bands: each tensor stays < 128 MB
        "8 bit everywhere",
    ),
}
