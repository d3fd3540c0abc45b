"""Classifier-free guidance: the story steered by how much its heading changes the model's mind.

A pretrained model reads the heading ("A funny bedtime story for children about a
curious fox and friendship.") and then mostly forgets it. Guidance runs the model
twice at every step, once on the story with its heading and once on the same
story without it, and moves each candidate's logit further in the direction the
heading pushed it:

    guided = with + (strength - 1) * (with - without)

so strength 1 is the plain model and 1.5 follows the heading half as much again
(`cut="prompt"` leaves the whole prompt out of the second run, opening included).
`GuidedRunner` does this behind the `pyshell.runner.Runner` interface (and
best-of's `Rewindable`), so the generation loop, the sampler and the story
policy do not change. Each step costs two model runs. Read blind, neither cut
was worth it (docs/stories.md, "Guidance by the prompt"): it is an option of the
evaluation (`--guidance`), not of the page.

Only the graph's top candidates come back from a run (pyshell.runner). A candidate
of the story with its heading that the run without it did not list counts at that
run's lowest listed score: its true score is at most that, so guidance is never
stronger than the formula says.
"""

from __future__ import annotations

from typing import Any

from pyshell.runner import Candidates, Runner

__all__ = ["GuidedRunner", "guide", "without_heading"]

HEADING_END = "\n\n"  # pyshell.prompts: the heading, a blank line, then the opening


def guide(with_heading: Candidates, without: Candidates, strength: float) -> Candidates:
    """`with_heading`'s candidates, rescored by guidance and sorted best first (stable)."""
    floor = min(without.scores)
    plain = dict(zip(without.ids, without.scores, strict=True))
    scored = [
        (s + (strength - 1.0) * (s - plain.get(i, floor)), i)
        for i, s in zip(with_heading.ids, with_heading.scores, strict=True)
    ]
    order = sorted(range(len(scored)), key=lambda k: -scored[k][0])
    return Candidates([scored[k][1] for k in order], [scored[k][0] for k in order])


def without_heading(ids: list[int], heading_end: set[int], bos_id: int) -> list[int]:
    """The prompt's ids from just after its heading (the first token that holds a blank
    line), behind `bos_id`; the whole prompt when it has no heading."""
    for k, token in enumerate(ids):
        if token in heading_end:
            return [bos_id, *ids[k + 1 :]]
    return list(ids)


class GuidedRunner:
    """Two runners (`with_heading`, `without`) on the same model, stepped together.

    The first step after `reset` is the prompt: `without` gets it with its heading
    cut (`without_heading`), or only the BOS token with `cut="prompt"`; every later
    step feeds both the same ids.
    """

    def __init__(
        self, with_heading: Runner, without: Runner, strength: float, tokenizer: Any,
        cut: str = "heading",
    ) -> None:  # fmt: skip
        if strength < 1.0:
            raise ValueError(f"guidance strength is at least 1 (got {strength})")
        self.with_heading = with_heading
        self.without = without
        self.strength = strength
        self.context_length = with_heading.context_length
        if cut not in ("heading", "prompt"):
            raise ValueError(f"guidance cuts the heading or the prompt (got {cut!r})")
        self.cut = cut
        self._heading_end = (
            {i for i in range(tokenizer.vocab_size) if HEADING_END in tokenizer.id_to_piece(i)}
            if cut == "heading"
            else set()
        )
        self._bos = tokenizer.bos_id
        self._fresh = True

    async def reset(self) -> None:
        await self.with_heading.reset()
        await self.without.reset()
        self._fresh = True

    async def step(self, ids: list[int]) -> Candidates:
        plain_ids = self._unguided_prompt(ids) if self._fresh else ids
        self._fresh = False
        guided = await self.with_heading.step(ids)
        plain = await self.without.step(plain_ids)
        return guide(guided, plain, self.strength)

    def _unguided_prompt(self, ids: list[int]) -> list[int]:
        """What the run without guidance reads of the prompt: BOS alone when the cut is
        the whole prompt, else the prompt less its heading."""
        if self.cut == "prompt":
            return [self._bos]
        return without_heading(ids, self._heading_end, self._bos)

    # pyshell.best_of.Rewindable
    def snapshot(self) -> tuple[Any, Any, bool]:
        return (self.with_heading.snapshot(), self.without.snapshot(), self._fresh)

    def restore(self, state: tuple[Any, Any, bool]) -> None:
        self.with_heading.restore(state[0])
        self.without.restore(state[1])
        self._fresh = state[2]

    def forget(self, state: tuple[Any, Any, bool]) -> None:
        self.with_heading.forget(state[0])
        self.without.forget(state[1])
