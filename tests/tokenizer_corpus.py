"""A test corpus of more than 1 MiB, assembled from text every Debian machine has.

Nothing is downloaded or committed: licences, package copyright files and
changelogs, manual pages (English and translated) and the translated messages
in `.mo` catalogues are read from /usr/share. Files are picked evenly across
each sorted list, so the corpus is the same on machines with the same
packages; what a machine lacks, the larger sources make up. The encoder tests
fail, not skip, when the result is under MIN_CORPUS_BYTES.

EDGE_CASES are hand-written texts for what such files rarely hold: special
tokens written out, odd whitespace, emoji, lone surrogates, control characters;
random_texts() glues fragments of that kind together.
"""

from __future__ import annotations

import gettext
import gzip
import os
import random
from functools import lru_cache
from pathlib import Path

MIN_CORPUS_BYTES = 1 << 20  # 1 MiB of UTF-8
TARGET_CORPUS_BYTES = 1_300_000
MAX_TEXT_BYTES = 16_000  # one test case; longer files are cut at a line end
SHARE = Path("/usr/share")

# (source, bytes wanted from it) in the order they are read.
SOURCE_TARGETS = (
    ("licenses", 300_000),
    ("translations", 300_000),
    ("man_translated", 150_000),
    ("man_english", 100_000),
    ("copyright", 250_000),
    ("changelog", 150_000),
)
FILL_SOURCES = ("copyright", "changelog", "man_english")  # when the others fall short

EDGE_CASES = [
    "",
    " ",
    "  ",
    " " * 31,
    " " * 32,
    " " * 100,
    "\n",
    "\n\n",
    "\n" * 31,
    "\n" * 45,
    "\t",
    "\t\t\t",
    "\t" * 40,
    "\r\n",
    "a \n \t b",
    " \n\t \r\n \x0b\x0c",
    "trailing   ",
    "   leading",
    "two  spaces   three    four",
    "tab\tseparated\tvalues\n1\t2\t3",
    "<bos>",
    "<eos>",
    "<pad>",
    "<unk>",
    "<mask>",
    "<start_of_turn>user\nWrite a story.<end_of_turn>\n<start_of_turn>model\n",
    "<unused5>",
    "<unused0><unused6241>",
    "<unused>",
    "<unused99999>",
    "[multimodal]",
    "<start_of_image><end_of_image>",
    "<table><tr><td>1</td></tr></table>",
    "<h1>Title</h1><p>text</p><b>bold</b>",
    "<0x41><0xE2>",
    "<s></s>",
    "Once upon a time, in a small village,",
    "12345678901234567890",
    "3.14159 2,718 1e-9 0x1F 0b1010",
    "٣٤٥ ১৯৭১ 一二三",
    "😀🤖🎉👩‍👩‍👧‍👦🏳️‍🌈",
    "emoji in text 🐍 and flags 🇫🇷🇯🇵",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙 𐍈",
    "Ceci est une phrase en français, avec des accents : é à ç ô ù œ.",
    "Grüße aus München! Straße, Maß, Fuß.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "日本語のテキストとカタカナ、ひらがな。",
    "中文文本测试：我们一起去公园散步吧！",
    "한국어 텍스트입니다.",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "e\u0301 a\u0300 n\u0303",
    "\u200b\u200c\u200d\ufeff",
    "\ufffd",
    "a\ufffdb",
    "\u2581",
    "\u2581\u2581 x",
    "\x00",
    "a\x00b",
    "\x01\x02\x03\x1b[31mred\x1b[0m\x7f",
    "\ud800",
    "x\udfffy",
    "\ud83d\ude00",
    "a" * 1000,
    "abc" * 500,
    "-" * 300,
    "=" * 80 + "\n" + "#" * 80,
    "def f(x):\n    return x ** 2  # square\n\n\nclass A:\n\tpass\n",
    "for (int i = 0; i < n; ++i) {\n        sum += a[i];\n}",
    "https://example.com/path?query=1&x=%20#frag",
    "user@example.com, C:\\Windows\\System32",
    "!!!???...,,,;;;:::",
    "\u00a0\u2002\u2003\u3000",
]


def _cut(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    """At most `limit` UTF-8 bytes of `text`, ending at a line end when possible."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    head = data[:limit].decode("utf-8", "ignore")
    end = head.rfind("\n")
    return head[: end + 1] if end > 0 else head


def _spread(paths: list[Path], count: int) -> list[Path]:
    """`count` paths taken evenly across a sorted list (not just the a* packages)."""
    if len(paths) <= count:
        return paths
    step = len(paths) / count
    return [paths[int(k * step)] for k in range(count)]


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


def _files(root: Path, pattern: str) -> list[Path]:
    """Paths matching `pattern` under `root`, sorted (links are resolved when read)."""
    return sorted(root.glob(pattern)) if root.is_dir() else []


def _catalogue_text(path: Path) -> str:
    """The translated messages of one gettext `.mo` file, one per line."""
    with open(path, "rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    messages = [v for k, v in catalog.items() if k and isinstance(v, str)]
    return "\n".join(sorted(set(messages)))


def _candidates(source: str) -> list[Path]:
    if source == "licenses":
        return _files(SHARE / "common-licenses", "*")
    if source == "copyright":
        return _spread(_files(SHARE / "doc", "*/copyright"), 400)
    if source == "changelog":
        return _spread(_files(SHARE / "doc", "*/changelog*.gz"), 300)
    if source == "man_english":
        return _spread(_files(SHARE / "man", "man[1-8]/*.gz"), 300)
    if source == "man_translated":
        return _spread(_files(SHARE / "man", "[a-z][a-z]*/man*/*.gz"), 300)
    if source == "translations":
        # One catalogue per language, rotating through packages.
        by_language: dict[str, list[Path]] = {}
        for path in _files(SHARE / "locale", "*/LC_MESSAGES/*.mo"):
            by_language.setdefault(path.parts[-3], []).append(path)
        return [paths[k % len(paths)] for k, (_, paths) in enumerate(sorted(by_language.items()))]
    raise ValueError(source)


def _load(source: str, path: Path) -> str:
    try:
        if source == "translations":
            return _cut(_catalogue_text(path), 6_000)
        return _cut(_read_text(path))
    except (OSError, ValueError, EOFError, UnicodeError):
        return ""


@lru_cache(maxsize=1)
def debian_corpus() -> tuple[tuple[str, str], ...]:
    """((label, text), …) of about TARGET_CORPUS_BYTES; label is the file path."""
    texts: list[tuple[str, str]] = []
    used: set[Path] = set()
    total = 0
    pools = {source: _candidates(source) for source, _ in SOURCE_TARGETS}

    def take(source: str, budget: int) -> int:
        taken = 0
        for path in pools[source]:
            if taken >= budget:
                break
            try:
                real = path.resolve()
            except OSError:
                continue
            if real in used or not real.is_file():
                continue
            used.add(real)
            text = _load(source, real)
            if text.strip():
                texts.append((str(path), text))
                taken += len(text.encode("utf-8"))
        return taken

    for source, budget in SOURCE_TARGETS:
        total += take(source, budget)
    for source in FILL_SOURCES:
        if total >= TARGET_CORPUS_BYTES:
            break
        pools[source] = _files(*_fill_pattern(source))
        total += take(source, TARGET_CORPUS_BYTES - total)
    return tuple(texts)


def _fill_pattern(source: str) -> tuple[Path, str]:
    return {
        "copyright": (SHARE / "doc", "*/copyright"),
        "changelog": (SHARE / "doc", "*/changelog*.gz"),
        "man_english": (SHARE / "man", "man[1-8]/*.gz"),
    }[source]


def corpus_bytes(texts) -> int:
    return sum(len(text.encode("utf-8", "surrogatepass")) for _, text in texts)


def describe(texts) -> str:
    """One line on what the corpus holds, for test output."""
    non_ascii = sum(1 for _, t in texts for c in t if ord(c) > 127)
    return (
        f"{len(texts)} texts, {corpus_bytes(texts):,} UTF-8 bytes, "
        f"{sum(len(t) for _, t in texts):,} characters ({non_ascii:,} non-ASCII) "
        f"from {os.fspath(SHARE)}"
    )


FUZZ_FRAGMENTS = [
    " ",
    "  ",
    "\u2581",
    ">",
    "<",
    "\n",
    "\t",
    "\r",
    "a",
    "b",
    "the",
    "ing",
    "日本",
    "語",
    "😀",
    "\u200d",
    "<start_of_turn>",
    "<unused1",
    "0>",
    "<0x41>",
    "<bos>",
    "</",
    "td>",
    "<table>",
    "[multimodal]",
    "\x00",
    "\ud800",
    "1",
    "23",
    "é",
    "e\u0301",
    "—",
    "->",
    ">>",
    "> ",
    " >",
    "\n\n",
    "\t\t ",
    "x",
    "ab",
    "http://",
    "=",
    "**",
    "' '",
]


def random_texts(count: int, seed: int) -> list[str]:
    """Strings glued from fragments chosen to hit segment cuts and user-defined pieces."""
    rng = random.Random(seed)
    return [
        "".join(rng.choice(FUZZ_FRAGMENTS) for _ in range(rng.randint(0, 30))) for _ in range(count)
    ]
