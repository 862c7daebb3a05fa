"""The matching package's modules depend one way: no module imports one that imports
it back, at the top or inside a function (the batch job calls the service, never
the reverse)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[3] / "src"
PACKAGE = SRC / "caldicott" / "matching"


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def _loops(graph: dict[str, set[str]]) -> list[list[str]]:
    loops = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], {start}
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph[node]):
                if nxt == start:
                    loops.append([*path, start])
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    return loops


def test_the_batch_job_imports_the_service_and_not_the_reverse() -> None:
    graph = _graph()
    assert "caldicott.matching.service" in graph["caldicott.matching.batch"]
    assert "caldicott.matching.batch" not in graph["caldicott.matching.service"]


def test_no_matching_module_imports_one_that_imports_it_back() -> None:
    assert _loops(_graph()) == []
