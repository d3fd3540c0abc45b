"""The page's pyshell wheel (web/wheel.py): what it holds, and that it runs on its own."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.conftest import ROOT
from web.wheel import build_wheel


def test_the_wheel_carries_the_word_lists_and_reads_them_unpacked(tmp_path):
    wheel = build_wheel(ROOT / "pyshell", tmp_path / "dist", "0.0.1")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")  # what Pyodide does with a wheel
    assert {"pyshell/data/family_safe/en.txt", "pyshell/data/family_safe/fr.txt"} <= names
    assert {"pyshell/data/grim_words/en.txt", "pyshell/data/grim_words/fr.txt"} <= names
    assert {"pyshell/data/warm_words/en.txt", "pyshell/data/warm_words/fr.txt"} <= names
    assert "pyshell/data/known_words/fr.txt" in names  # best-of's prefer_known (French)
    assert "pyshell/family_safe.py" in names and "pyshell/evaluate.py" not in names
    script = (
        "from pyshell.family_safe import listed_words as w; "
        "print(w('He got drunk.', 'en'), w('Il était ivre.', 'fr'), w('Le violon', 'fr')); "
        "from pyshell.grim_words import grim_matcher as g, grim_words as gw; "
        "print(gw('Il fut tué.', g('fr'))); "
        "from pyshell.warm_words import warm_matcher as h; "
        "print(h('en').words_in('They were safe at home.')); "
        "from pyshell.known_words import known_words as k; "
        "print(k('fr').knows('maison'), k('fr').knows('jebonach'))"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site")},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert found.stdout.split("\n")[:4] == [
        "['drunk'] ['ivre'] []",
        "['tué']",
        "['safe', 'home']",
        "True False",
    ]
