"""The arrows between the Python modules point one way (docs/architecture.md, "Layers").

Read with `ast` from export/, pyshell/, web/, bench/ and harness/, counting imports
inside functions too (tests/import_graph.py):
- no import cycle anywhere;
- inside export/, a layer imports only its own layer and the ones below it;
- pyshell imports nothing of ours; export only pyshell's tokenizer, SentencePiece
  model, config and onnx runner; web only pyshell; harness nothing; nobody imports
  tests/ or the export tools;
- every import sits at the top of its module, unless a comment on its line or the
  line above says why it does not (an optional dependency, a runtime that only
  Pyodide has).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_graph import Import, cycles, edges, read_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("export", "pyshell", "web", "bench", "harness")

# export/, lowest first: a module imports only from its own layer or the layers below.
EXPORT_LAYERS = (
    ("errors", ("export.errors",)),
    ("model", ("export.model",)),
    ("sources", ("export.sources",)),
    ("quantize", ("export.quantize",)),
    ("graphs", ("export.graphs",)),
    ("folder", ("export.folder",)),
    ("checks", ("export.checks",)),
    ("pipeline", ("export.pipeline", "export.progress")),
    ("cli", ("export.cli", "export.__main__")),
    ("tools", ("export.tools",)),  # offline builders: nothing below imports them
)
# What export/ may use of pyshell: the tokenizer (and its SentencePiece model reader),
# the conteur.json reader, the onnxruntime runner and the rest file's writer and reader.
EXPORT_USES_OF_PYSHELL = {
    "pyshell.tokenizer",
    "pyshell.spm_model",
    "pyshell.config",
    "pyshell.onnx_runner",
    "pyshell.rest_rows",
}
# Top-level packages each package may import (besides itself).
ALLOWED_PACKAGES = {
    "pyshell": set(),
    "harness": set(),
    "export": {"pyshell"},
    "web": {"pyshell"},
    "bench": {"export", "pyshell", "web", "harness"},
}


def in_package(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str, layers=EXPORT_LAYERS) -> int | None:
    for rank, (_, prefixes) in enumerate(layers):
        if any(in_package(module, prefix) for prefix in prefixes):
            return rank
    return None


def layer_violations(imports: list[Import], layers=EXPORT_LAYERS) -> list[str]:
    """Imports from a lower layer into a higher one."""
    found = []
    for imp in imports:
        source = layer_of(imp.source, layers)
        for target in imp.targets:
            rank = layer_of(target, layers)
            if source is not None and rank is not None and rank > source:
                found.append(
                    f"{imp.where()}: {layers[source][0]} imports {layers[rank][0]} "
                    f"({imp.source} -> {target})"
                )
    return found


def package_violations(imports: list[Import]) -> list[str]:
    found = []
    for imp in imports:
        package = imp.source.split(".")[0]
        for target in imp.targets:
            other = target.split(".")[0]
            if other == package:
                continue
            allowed = other in ALLOWED_PACKAGES.get(package, set())
            if package == "export" and other == "pyshell":
                allowed = target in EXPORT_USES_OF_PYSHELL
            if not allowed:
                found.append(f"{imp.where()}: {imp.source} imports {target}")
        for target in imp.targets:  # the offline builders are off every path
            if in_package(target, "export.tools") and not in_package(imp.source, "export.tools"):
                found.append(f"{imp.where()}: {imp.source} imports the tool {target}")
    return found


def untold_function_imports(imports: list[Import]) -> list[str]:
    return [f"{i.where()}: {i.names}" for i in imports if not i.top_level and not i.commented]


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return read_imports(ROOT, PACKAGES)


def test_the_graph_is_read(imports):
    """The reader finds the modules and their arrows (so the rules below are not vacuous)."""
    graph = edges(imports)
    assert {"export.pipeline", "pyshell.generate", "web.build", "bench.cli"} <= set(graph)
    assert "export.graphs.cpu_graph" in graph["export.pipeline"]
    assert "pyshell.config" in graph["web.build"]
    assert any(not i.top_level for i in imports)  # function-level imports are counted


def test_no_import_cycles(imports):
    found = cycles(edges(imports))
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_export_layers_point_down(imports):
    assert not layer_violations(imports)


def test_packages_import_only_what_they_may(imports):
    assert not package_violations(imports)


def test_every_import_sits_at_the_top_unless_a_comment_says_why(imports):
    assert not untold_function_imports(imports)


# --- the checker itself, on a small fake package ------------------------------------------


def write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_checker_finds_a_cycle_hidden_in_a_function(tmp_path):
    write_package(
        tmp_path,
        {
            "fake/__init__.py": "",
            "fake/low.py": "import json\n\n\ndef f():\n    from fake import high\n",
            "fake/high.py": "from .low import f\n",
            "fake/alone.py": "from fake.low import f  # comment\n",
        },
    )
    found = read_imports(tmp_path, ["fake"])
    assert cycles(edges(found)) == [["fake.high", "fake.low", "fake.high"]]
    hidden = [i for i in found if not i.top_level]
    assert [(i.source, i.targets, i.commented) for i in hidden] == [
        ("fake.low", ("fake.high",), False)
    ]
    assert untold_function_imports(found) == ["fake/low.py:5: from fake import high"]
    layers = (("low", ("fake.low",)), ("high", ("fake.high",)))
    assert layer_violations(found, layers) == [
        "fake/low.py:5: low imports high (fake.low -> fake.high)"
    ]


def test_checker_accepts_one_way_arrows_and_explained_imports(tmp_path):
    write_package(
        tmp_path,
        {
            "fake/__init__.py": '"""A package."""\n',
            "fake/sub/__init__.py": "",
            "fake/sub/low.py": "X = 1\n",
            "fake/sub/high.py": (
                "from . import low\nfrom ..sub.low import X\n\n\ndef f():\n"
                "    # optional: not installed everywhere\n    import wordfreq\n"
            ),
        },
    )
    found = read_imports(tmp_path, ["fake"])
    assert edges(found)["fake.sub.high"] == {"fake.sub.low"}  # relative imports resolved
    assert cycles(edges(found)) == []
    assert untold_function_imports(found) == []
    assert not layer_violations(found, (("low", ("fake.sub.low",)), ("high", ("fake.sub.high",))))
    upside_down = (("high", ("fake.sub.high",)), ("low", ("fake.sub.low",)))
    assert len(layer_violations(found, upside_down)) == 2  # both of high's imports of low
