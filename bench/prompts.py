"""The fixed prompts every contender gets: the same text, the same token ids.

A story opening is cut at a word boundary so that, with BOS, it is exactly
128 or 512 tokens long for Gemma 3's tokenizer (longer prompts, for the scaling
runs, read the story again after its end); the cut text re-tokenizes to
the same ids, so peers that take text (wllama, transformers.js) and the
engine page that takes ids see the same tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sentencepiece as spm

STORY = """\
Once upon a time, in a small village between the mountains and the sea, there lived an old \
clockmaker named Elias. Every morning he opened the green shutters of his shop, swept the \
doorstep, and wound the hundred clocks that hung on his walls. Some were tall and solemn, some \
were small and quick, and one, a little brass clock with a painted moon, had not ticked for \
as long as anyone could remember.

The children of the village liked to press their noses against his window. They watched the \
pendulums swing and the tiny gears turn, and they asked him questions he was always happy to \
answer. Why does the big clock chime at noon? Why do the hands move to the right? Why does the \
moon clock never move at all? To the last question Elias only smiled and said that the moon \
clock was waiting for something.

One winter evening, when snow covered the roofs and the lamps glowed yellow in the windows, a \
girl named Mira knocked on the door of the shop. She was carrying a wooden box wrapped in a \
wool scarf, and her cheeks were red from the cold. Inside the box was a key, long and thin, \
with a handle shaped like a star. She had found it in her grandmother's attic, under a pile of \
letters tied with blue ribbon, and a note that said only: for the clock that sleeps.

Elias turned the key over in his hands for a long time. Then he took the moon clock down from \
its nail, blew the dust from its face, and opened the little door in its back. The key fitted \
perfectly. When he turned it, the clock gave a soft click, like someone clearing their throat \
before a song, and the painted moon began, very slowly, to rise.

At that moment every clock in the shop stopped. The pendulums hung still, the gears froze, \
and the silence was so deep that Mira could hear the snow falling outside. Then, one by one, \
the clocks began to tick again, but this time they all ticked together, like a great heart \
beating in the walls. Through the window the village looked different. The lamps were \
brighter, the snow sparkled like sugar, and in the sky the real moon had turned the same warm \
color as the painted one.

Elias laughed, a laugh Mira had never heard from him before, young and surprised. He told her \
that his own grandfather had built the moon clock for a woman he loved, and that she had \
promised to return one day with the key. She never came back, and the clock had waited ever \
since. Mira understood then that the letters in the attic had been written by that woman, and \
that her grandmother had kept them all her life without knowing what they meant.

The next morning the whole village came to see the shop. People said that the bread rose \
faster, that the fishermen found their nets full, and that the old bridge no longer creaked \
when the carts went over it. Nobody could explain it, and nobody really wanted to. Mira came \
back every day after school, and Elias began to teach her how to listen to a clock, how to \
find the gear that was tired and the spring that was sad. In the spring they opened the \
letters together and read them aloud, one each evening, while the moon clock ticked softly \
on the wall above them and the swallows built their nests under the roof of the shop.
"""

LENGTHS = (128, 512)


@dataclass(frozen=True)
class Prompt:
    name: str  # "p128", "p512"
    text: str  # without BOS; peers that take text add it themselves
    ids: list[int]  # with BOS, what the model sees


def make_prompts(tokenizer_model: Path, lengths: tuple[int, ...] = LENGTHS) -> list[Prompt]:
    """Cut STORY to exactly `length` tokens (BOS included) for each length."""
    sp = spm.SentencePieceProcessor(model_file=str(tokenizer_model))
    bos = sp.bos_id()
    story = STORY
    pieces = sp.encode(story, out_type=int)
    while len(pieces) < max(lengths) - 1:  # the scaling runs' longest prompts: the story again
        story += "\n" + STORY
        pieces = sp.encode(story, out_type=int)
    prompts = []
    for length in lengths:
        want = length - 1  # BOS comes first
        # Cut before a token that starts a new word, so the text re-tokenizes the same.
        cut = want
        text = sp.decode(pieces[:cut])
        if sp.encode(text, out_type=int) != pieces[:cut]:
            raise ValueError(f"the {length}-token cut of the bench story does not re-tokenize")
        prompts.append(Prompt(f"p{length}", text, [bos] + pieces[:cut]))
    return prompts
