"""From trials to figures: medians, ranges, and Conteur's ratio to each peer.

Absolute times on a shared 2-core machine drift, so every comparison is a
ratio taken pair by pair: repetition r of Conteur against repetition r of the
peer, measured next to each other (A B A B …), then the median of those ratios.
A ratio is always "Conteur's advantage": above 1 means Conteur did better
(faster, smaller), below 1 means the peer did.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    better: str  # "lower" or "higher"
    get: Callable[[dict], float | None]  # from one trial's JSON
    digits: int = 1


def _path(*keys: str, scale: float = 1.0) -> Callable[[dict], float | None]:
    def get(trial: dict) -> float | None:
        value = trial
        for key in keys:
            if not isinstance(value, dict) or value.get(key) is None:
                return None
            value = value[key]
        return float(value) * scale

    return get


METRICS = [
    Metric("download_mb", "Downloaded, first visit", "MB", "lower", _path("cold", "bytes", scale=1e-6), 0),
    Metric("download_again_mb", "Downloaded, second visit", "MB", "lower", _path("warm", "bytes", scale=1e-6), 0),
    Metric("cold_load_s", "Cold load (empty profile)", "s", "lower", _path("cold", "load_ms", scale=1e-3)),
    Metric("warm_load_s", "Warm load (cached)", "s", "lower", _path("warm", "load_ms", scale=1e-3)),
    Metric("ttft_128_s", "Time to first token, 128-token prompt", "s", "lower", _path("runs", "p128", "ttft_ms", scale=1e-3), 2),
    Metric("prefill_128", "Prefill, 128-token prompt", "tokens/s", "higher", _path("runs", "p128", "prefill_tokens_per_s")),
    Metric("ttft_512_s", "Time to first token, 512-token prompt", "s", "lower", _path("runs", "p512", "ttft_ms", scale=1e-3), 2),
    Metric("prefill_512", "Prefill, 512-token prompt", "tokens/s", "higher", _path("runs", "p512", "prefill_tokens_per_s")),
    Metric("decode", "Decode, 128 greedy tokens", "tokens/s", "higher", _path("runs", "p128", "decode_tokens_per_s"), 2),
    Metric("peak_pss_mb", "Peak memory, browser PSS", "MB", "lower", _path("memory", "peak_pss", scale=1e-6), 0),
    Metric("peak_rss_mb", "Peak memory, browser RSS sum", "MB", "lower", _path("memory", "peak_rss", scale=1e-6), 0),
]  # fmt: skip
METRIC_BY_KEY = {m.key: m for m in METRICS}


def summary(values: list[float]) -> dict | None:
    """Median, min, max and count of the values that exist."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return {
        "median": statistics.median(present),
        "min": min(present),
        "max": max(present),
        "n": len(present),
    }


def advantage(metric: Metric, ours: float | None, peer: float | None) -> float | None:
    """Conteur's advantage on one pair: >1 means Conteur did better."""
    if ours is None or peer is None or ours <= 0 or peer <= 0:
        return None
    return peer / ours if metric.better == "lower" else ours / peer


def by_contender(trials: list[dict]) -> dict[str, dict[str, dict | None]]:
    """contender -> metric -> summary, over every successful trial."""
    out: dict[str, dict[str, dict | None]] = {}
    for key in dict.fromkeys(t["contender"] for t in trials):
        mine = [t for t in trials if t["contender"] == key and not t.get("error")]
        out[key] = {m.key: summary([m.get(t) for t in mine]) for m in METRICS}
    return out


def pairwise(trials: list[dict], ours: str, peer: str) -> dict[str, dict | None]:
    """metric -> summary of the per-repetition advantages of `ours` over `peer`."""
    index = {(t["contender"], t["rep"]): t for t in trials if not t.get("error")}
    reps = sorted({t["rep"] for t in trials})
    out = {}
    for m in METRICS:
        ratios = [
            advantage(m, m.get(index[(ours, r)]), m.get(index[(peer, r)]))
            for r in reps
            if (ours, r) in index and (peer, r) in index
        ]
        out[m.key] = summary(ratios)
    return out
