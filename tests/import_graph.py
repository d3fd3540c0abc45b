"""The import graph of the repository's Python modules, read with `ast` (nothing is imported).

Every `import` counts, at module level or inside a function, so an import moved into
a function to dodge a cycle still shows the cycle. tests/test_import_layers.py holds
the rules; this module only reads and reports.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    """One import statement of one module, resolved to the modules of ours it names."""

    source: str  # the importing module, e.g. "export.pipeline"
    targets: tuple[str, ...]  # modules of ours it imports ("" when it names only others)
    names: str  # what it says, e.g. "from export.folder import layout"
    path: Path
    line: int
    top_level: bool  # in the module's body (also inside a module-level if / try)
    commented: bool  # a comment on its lines or on the line above

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Module name -> file, for every .py file under the given top-level packages."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def read_imports(root: Path, packages: Iterable[str]) -> list[Import]:
    """Every import of every module under `packages`, in file order."""
    modules = module_files(root, packages)
    found = []
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        comments = _comment_lines(source)
        is_package = path.name == "__init__.py"
        for node, top_level in _import_nodes(ast.parse(source, str(path))):
            lines = range(node.lineno - 1, (node.end_lineno or node.lineno) + 1)
            found.append(
                Import(
                    source=name,
                    targets=tuple(_resolve(node, name, is_package, modules)),
                    names=ast.unparse(node),
                    path=path.relative_to(root),
                    line=node.lineno,
                    top_level=top_level,
                    commented=any(line in comments for line in lines),
                )
            )
    return found


def edges(imports: Iterable[Import]) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (wherever the import sits)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.source, set()).update(t for t in imp.targets if t != imp.source)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module, as a path
    a → … → a (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_path(graph, set(component)) for component in components]


def _cycle_path(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside it."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph.get(node, set()) & component):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    return sorted(component)


def _import_nodes(tree: ast.Module):
    """(node, top_level) for every Import / ImportFrom; top level means not inside a
    function or class body."""
    stack = [(child, True) for child in reversed(tree.body)]
    while stack:
        node, top = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, top
            continue
        nested = top and not isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
        )
        stack.extend((child, nested) for child in reversed(list(ast.iter_child_nodes(node))))


def _resolve(
    node: ast.Import | ast.ImportFrom, source: str, is_package: bool, modules: dict[str, Path]
) -> list[str]:
    """The modules of ours an import statement loads (the deepest one each name reaches)."""
    if isinstance(node, ast.Import):
        return [m for alias in node.names if (m := _deepest(alias.name, modules))]
    base = node.module or ""
    if node.level:
        package = source.split(".") if is_package else source.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    targets = []
    for alias in node.names:
        full = f"{base}.{alias.name}" if base else alias.name
        target = full if full in modules else _deepest(base, modules)
        if target:
            targets.append(target)
    return targets


def _deepest(name: str, modules: dict[str, Path]) -> str:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return ""


def _comment_lines(source: str) -> set[int]:
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            lines.add(token.start[0])
    return lines
