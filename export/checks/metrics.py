"""How far a model's logits are from the float32 reference's: one pass over the positions.

Position t predicts ids[t + 1]; logits are (S, vocab), processed in chunks of 128
rows so a 2,000-token text needs little extra memory.

A graph whose head keeps only some tokens (the CPU graph's story shortlist) has
logits -inf elsewhere. At each position the float32 reference puts mass m outside
the kept set, and the reported `kl` is

    KL(p_kept || q) + (-log(1 - m))

where p_kept is the reference renormalized over the kept tokens: the first term is
the graph's error on what it can write, the second exactly the divergence the
trimming adds (KL(p_kept || p)). Perplexity counts the positions whose next token
is kept; `targets_outside` says how many were not. With every token kept, both
terms reduce to the plain KL(p || q) and every position counts.
"""

from __future__ import annotations

import numpy as np

CHUNK = 128  # positions per pass: (128, 262,144) float64 is 268 MB


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def fidelity(ref_logits: np.ndarray, model_logits: np.ndarray, ids: list[int]) -> dict:
    """Perplexities, their ratio, mean KL(ref || model) and top-1 agreement (every token kept)."""
    kept = np.ones(model_logits.shape[-1], bool)
    full = _measure(ref_logits, model_logits, ids, kept)
    return {key: full[key] for key in ("tokens", "ppl_ref", "ppl_model", "ppl_ratio", "top1", "kl")}


def head_fidelity(ref_logits: np.ndarray, model_logits: np.ndarray, ids: list[int]) -> dict:
    """`fidelity` with the mass outside the model's head counted (module docstring).

    The kept tokens are those with finite logits; adds `head_kept`, `kl_kept`,
    `lost_mass` (mean), `lost_mass_max` and `targets_outside`.
    """
    return _measure(ref_logits, model_logits, ids, np.isfinite(model_logits[0]))


def _measure(ref_logits: np.ndarray, model_logits: np.ndarray, ids: list[int], kept) -> dict:
    targets = np.asarray(ids[1:])
    every = bool(kept.all())
    columns = slice(None) if every else kept  # a view when nothing is trimmed
    in_kept = kept[targets]
    kl_kept = trim = lost = nll_ref = nll_model = agree = 0.0
    lost_max = 0.0
    column = np.cumsum(kept) - 1  # token id -> its column among the kept
    kept_ids = np.flatnonzero(kept)
    for start in range(0, len(targets), CHUNK):
        stop = min(start + CHUNK, len(targets))
        ref_lp = log_softmax(ref_logits[start:stop].astype(np.float64))
        mod_lp = log_softmax(model_logits[start:stop, columns].astype(np.float64))  # (n, L)
        mass = np.zeros(stop - start) if every else np.exp(ref_lp[:, ~kept]).sum(axis=1)
        ref_kept = ref_lp[:, columns] - np.log1p(-mass)[:, None]  # renormalized over kept
        kl_kept += (np.exp(ref_kept) * (ref_kept - mod_lp)).sum()
        trim -= np.log1p(-mass).sum()
        lost += mass.sum()
        lost_max = max(lost_max, float(mass.max()))
        rows = np.arange(stop - start)
        want = targets[start:stop]
        inside = in_kept[start:stop]
        nll_ref -= ref_lp[rows[inside], want[inside]].sum()
        nll_model -= mod_lp[rows[inside], column[want[inside]]].sum()
        agree += (ref_lp.argmax(-1) == kept_ids[mod_lp.argmax(-1)]).sum()
    count, counted = len(targets), int(in_kept.sum())
    ppl_ref, ppl_model = np.exp(nll_ref / counted), np.exp(nll_model / counted)
    return {
        "tokens": len(ids),
        "head_kept": int(kept.sum()),
        "ppl_ref": round(float(ppl_ref), 4),
        "ppl_model": round(float(ppl_model), 4),
        "ppl_ratio": round(float(ppl_model / ppl_ref), 4),
        "top1": round(float(agree) / count, 4),
        "kl": round(float(kl_kept + trim) / count, 5),
        "kl_kept": round(float(kl_kept) / count, 5),
        "lost_mass": round(float(lost) / count, 5),
        "lost_mass_max": round(lost_max, 4),
        "targets_outside": count - counted,
    }
