"""Per-channel smoothing for the CPU graph's rounded activations (SmoothQuant).

The CPU graph rounds every matrix input to 8 bits with one scale per token
(export/graphs/cpu_graph.py). A few channels carry outliers (most of all the input of
`down`, gelu(gate) · up), and one outlier sets the scale for the whole row.
Dividing channel j by s_j and multiplying the matrix's column j by s_j leaves
the product unchanged but moves range from activations into weights, which
have 8 bits per row to spare:

    s_j = max|x_j| ** ALPHA / max|W[:, j]| ** (1 - ALPHA)

Gemma's structure lets the division fold away exactly, so the graph gains no op:
- q/k/v input: into the RMSNorm weight `attn_norm` (and gate/up: `ffn_norm`);
- down input:  into the rows of `up` (gelu is on `gate`, so up's output scales linearly);
- head input:  into `final_norm` (the CPU head is its own copy of the rows).
The `o` input is left alone (measured: +0.0005 KL, docs/facts/cpu-kernels.md).

max|x_j| is measured with the numpy reference on the model's own stories
(export/data/calibration_stories.txt), never on the evaluation text, in float64: in
float32 the maxima differ in their last bits between numpy releases (their float32
kernels differ), which moved a few smoothing scales and flipped int8 weights in 156 of
the CPU graph's 572 tensors, so its export was not byte-identical from one environment
to another (numpy 2.3.5 against 2.4.6, docs/export.md). In float64 that noise is some
1e-15, far below the float32 rounding of the scales. The powers in s_j are taken with
Python's `math.pow` in float64 for the same reason: numpy's own `power` on float32 runs
another implementation on CPUs with AVX-512 than on those without, and its last bits
moved the scales, so an export made on one wrote other weights than on the other.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from export.model import reference
from export.model.config import GemmaConfig

ALPHA = 0.65  # measured: KL 0.0166 at 0.5, 0.0139 at 0.65, 0.0165 at 0.8 (docs/export.md)
CALIBRATION_TEXT = Path(__file__).resolve().parents[1] / "data" / "calibration_stories.txt"
CALIBRATION_STORIES = 16  # enough for stable maxima; each story is one forward pass
SCALE_RANGE = (1e-3, 1e3)
# (norm that folds the scale, matrices sharing that input, reference site)
SHARED_INPUTS = (("attn_norm", ("q", "k", "v"), "attn_in"), ("ffn_norm", ("gate", "up"), "ffn_in"))
STORY_SEPARATOR = "\n* * *\n"


class ChannelMaxima:
    """A reference `inputs` hook that records max|x| per channel at every site."""

    def __init__(self):
        self.maxima: dict[str, np.ndarray] = {}

    def __call__(self, x: np.ndarray, site: str) -> np.ndarray:
        amax = np.abs(x).max(axis=0)
        self.maxima[site] = np.maximum(self.maxima.get(site, 0), amax)
        return x


def calibration_ids(encode, stories: int = CALIBRATION_STORIES) -> list[list[int]]:
    """Token ids of the first `stories` calibration stories (English and French alternate)."""
    texts = [t.strip() for t in CALIBRATION_TEXT.read_text().split(STORY_SEPARATOR)]
    return [encode(text) for text in texts[:stories] if text]


class Float64Rows:
    """The embedding table's rows in float64 as they are looked up (a float64 copy of
    the whole 262,144-row table would take 1.3 GB)."""

    def __init__(self, table: np.ndarray):
        self.table = table

    def __getitem__(self, rows) -> np.ndarray:
        return self.table[rows].astype(np.float64)


def measure_maxima(tensors: dict, config: GemmaConfig, stories: list[list[int]]) -> dict:
    """max|x_j| (float64) per matrix-input site over the calibration stories."""
    wide = {name: t.astype(np.float64) for name, t in tensors.items() if name != "embed"}
    wide["embed"] = Float64Rows(tensors["embed"])
    hook = ChannelMaxima()
    for ids in stories:
        hook(reference.hidden_states(ids, wide, config, hook), "head_in")
    return hook.maxima


def smoothing_scales(x_max: np.ndarray, matrices: list[np.ndarray]) -> np.ndarray:
    """s (K,) for an input shared by `matrices` (each (N, K))."""
    w_max = np.max([np.abs(w).max(axis=0) for w in matrices], axis=0)
    s = _power(np.maximum(x_max, 1e-6), ALPHA) / _power(np.maximum(w_max, 1e-6), 1 - ALPHA)
    s = np.where((x_max > 0) & (w_max > 0), s, 1.0)
    return np.clip(s, *SCALE_RANGE).astype(np.float32)


def _power(x: np.ndarray, exponent: float) -> np.ndarray:
    """x ** exponent in float64 by the C library's pow, element by element: the same
    bits on every x86 CPU, where numpy's vectorized power depends on the CPU's
    instruction set (see the module doc)."""
    return np.array([math.pow(float(v), exponent) for v in x.ravel()], np.float64).reshape(x.shape)


def smooth(
    tensors: dict, config: GemmaConfig, maxima: dict, head_rows: np.ndarray
) -> dict[str, np.ndarray]:
    """A copy of `tensors` with the smoothing folded in (same function, other ranges).

    The head is a copy of the kept embedding rows (`head_rows`, (L, D)); the input
    lookup keeps reading the unscaled table, so the head's column scales come
    back separately as "head_scale" (D,).
    """
    out = dict(tensors)
    for layer in range(config.num_layers):
        p = f"layers.{layer}."
        for norm, kinds, site in SHARED_INPUTS:
            names = [p + kind for kind in kinds]
            s = smoothing_scales(maxima[p + site], [out[n] for n in names])
            out[p + norm] = out[p + norm] / s
            for n in names:
                out[n] = out[n] * s[None, :]
        s = smoothing_scales(maxima[p + "down_in"], [out[p + "down"]])
        out[p + "up"] = out[p + "up"] / s[:, None]
        out[p + "down"] = out[p + "down"] * s[None, :]
    s = smoothing_scales(maxima["head_in"], [head_rows])
    out["final_norm"] = out["final_norm"] / s
    out["head_scale"] = s  # the head's columns get multiplied by this
    return out
