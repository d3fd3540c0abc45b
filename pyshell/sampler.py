"""Pick the next token from the graph's candidates: greedy, temperature, top-k, top-p.

Sampling only ever sees the candidates the graph returns (`graph.top_k` in
conteur.json, 64 by default): the page fetches those 64 ids and logits
instead of the whole 262,144-wide row. Consequences worth knowing:
- `top_k` can be at most the number of candidates;
- probabilities (and so `top_p`) are those of a softmax over the candidates
  only. For a small model the tokens outside the top 64 hold little mass, so
  this is close to, but not exactly, sampling from the full distribution.

The steps follow Hugging Face transformers' order: repetition penalty, then
temperature, top-k and top-p, then one draw. Draws come from the sampler's
own `random.Random` (Mersenne Twister), which gives the same sequence in
CPython and in Pyodide for the same seed, so a seeded story is reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Container, Sequence
from dataclasses import dataclass

from pyshell.runner import Candidates

__all__ = [
    "DEFAULT_CANDIDATES",
    "MAX_REPETITION_PENALTY",
    "MAX_SEED",
    "MAX_TEMPERATURE",
    "Sampler",
    "SamplingConfig",
    "SettingError",
]

DEFAULT_CANDIDATES = 64
MAX_TEMPERATURE = 2.0  # the usual ceiling of sampling UIs; beyond it text turns to noise
MAX_REPETITION_PENALTY = 2.0  # past ~1.5 the model avoids even "the" and "a"
MAX_SEED = 2**64 - 1


class SettingError(ValueError):
    """A sampling or generation setting is out of range.

    `setting` names the offending option, so a UI can highlight it.
    """

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


def _number(setting: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise SettingError(setting, f"{setting} must be a number (got {value!r})")
    return float(value)


@dataclass(frozen=True)
class SamplingConfig:
    """How to choose each next token.

    - temperature: 0 ≤ t ≤ 2. 0 means greedy (always the best candidate);
      lower is safer and more repetitive, higher more surprising.
    - top_k: 1 ≤ k ≤ candidates (64): sample among the k best candidates.
    - top_p: 0 < p ≤ 1: then keep the smallest set of best candidates whose
      probabilities add up to at least p (nucleus sampling).
    - repetition_penalty: 1 ≤ r ≤ 2: tokens already seen get their logit
      divided by r (multiplied when negative), as in Hugging Face
      transformers. 1 switches it off. Which tokens count as seen is the
      caller's choice: under the story policy only the story's own, not the
      prompt's (pyshell/story_policy.py, `penalize_prompt`).
    - seed: an integer in 0 … 2**64 - 1 makes the choices reproducible; None
      draws a fresh one (the sampler reports it as `Sampler.seed`).
    """

    temperature: float = 0.8
    top_k: int = 64
    top_p: float = 0.95
    repetition_penalty: float = 1.1
    seed: int | None = None

    def __post_init__(self) -> None:
        t = _number("temperature", self.temperature)
        if not 0.0 <= t <= MAX_TEMPERATURE:
            raise SettingError(
                "temperature",
                f"temperature must be between 0 and {MAX_TEMPERATURE:g} (got {t:g}); 0 means greedy",
            )
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1:
            raise SettingError(
                "top_k", f"top_k must be a whole number of at least 1 (got {self.top_k!r})"
            )
        p = _number("top_p", self.top_p)
        if not 0.0 < p <= 1.0:
            raise SettingError(
                "top_p", f"top_p must be greater than 0 and at most 1 (got {p:g}); 1 turns it off"
            )
        r = _number("repetition_penalty", self.repetition_penalty)
        if not 1.0 <= r <= MAX_REPETITION_PENALTY:
            raise SettingError(
                "repetition_penalty",
                f"repetition_penalty must be between 1 and {MAX_REPETITION_PENALTY:g} "
                f"(got {r:g}); 1 turns it off",
            )
        if self.seed is not None and (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not 0 <= self.seed <= MAX_SEED
        ):
            raise SettingError(
                "seed", f"seed must be a whole number between 0 and 2**64 - 1 (got {self.seed!r})"
            )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def check_candidates(self, available: int) -> None:
        """top_k cannot exceed what the graph returns."""
        if self.top_k > available:
            raise SettingError(
                "top_k",
                f"top_k must be between 1 and {available}, the number of candidates the "
                f"model returns per step (got {self.top_k})",
            )


# --- the steps, as pure functions ----------------------------------------------------


def apply_repetition_penalty(
    ids: Sequence[int], scores: Sequence[float], seen: Container[int], penalty: float
) -> list[float]:
    """Hugging Face's rule: a seen token's positive logit is divided by `penalty`,
    a negative one multiplied, so either way it becomes less likely."""
    if penalty == 1.0:
        return list(scores)
    return [
        (s / penalty if s > 0 else s * penalty) if i in seen else s for i, s in zip(ids, scores)
    ]


def softmax(scores: Sequence[float], temperature: float = 1.0) -> list[float]:
    """Probabilities of `scores / temperature` (shifted by the maximum for stability)."""
    top = max(scores)
    weights = [math.exp((s - top) / temperature) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]


def top_p_cutoff(probs: Sequence[float], top_p: float) -> int:
    """How many of the (descending) `probs` to keep: the fewest whose sum reaches
    `top_p`; a candidate is kept when the mass before it is still below top_p."""
    mass = 0.0
    for n, p in enumerate(probs):
        if mass >= top_p:
            return n
        mass += p
    return len(probs)


def draw(probs: Sequence[float], rng: random.Random) -> int:
    """Index drawn with probability proportional to `probs` (one `rng.random()` call)."""
    target = rng.random() * sum(probs)
    cumulative = 0.0
    for n, p in enumerate(probs):
        cumulative += p
        if target < cumulative:
            return n
    return len(probs) - 1  # rounding left target at the very top


class Sampler:
    """Chooses next tokens with one `SamplingConfig` and its own random stream."""

    def __init__(self, config: SamplingConfig, candidates: int = DEFAULT_CANDIDATES) -> None:
        config.check_candidates(candidates)
        self.config = config
        self.seed = (
            config.seed if config.seed is not None else random.SystemRandom().getrandbits(63)
        )
        self._rng = random.Random(self.seed)

    def distribution(
        self, candidates: Candidates, seen: Container[int] = ()
    ) -> list[tuple[int, float]]:
        """The (id, probability) pairs the next draw chooses from, best first.

        Greedy gives the single best candidate with probability 1.
        """
        c = self.config
        scores = apply_repetition_penalty(
            candidates.ids, candidates.scores, seen, c.repetition_penalty
        )
        # The penalty can reorder candidates; a stable sort keeps the graph's order on ties.
        order = sorted(range(len(scores)), key=lambda n: -scores[n])
        if c.greedy:
            return [(candidates.ids[order[0]], 1.0)]
        order = order[: c.top_k]
        probs = softmax([scores[n] for n in order], c.temperature)
        keep = top_p_cutoff(probs, c.top_p)
        total = sum(probs[:keep])
        return [(candidates.ids[n], p / total) for n, p in zip(order[:keep], probs[:keep])]

    def sample(self, candidates: Candidates, seen: Container[int] = ()) -> int:
        """The next token id; `seen` holds the ids of the prompt and story so far."""
        choices = self.distribution(candidates, seen)
        if len(choices) == 1:
            return choices[0][0]
        return choices[draw([p for _, p in choices], self._rng)][0]
