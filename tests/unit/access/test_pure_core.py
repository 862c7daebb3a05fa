"""The access policy is pure: no web framework, no database layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).parents[3] / "src" / "caldicott" / "access" / "core"
FORBIDDEN = {"fastapi", "sqlalchemy", "starlette", "alembic", "uvicorn", "pydantic"}


def _top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_access_core_imports_no_framework(path: Path) -> None:
    assert not _top_level_imports(path) & FORBIDDEN


def test_access_core_imports_only_itself_from_caldicott() -> None:
    for path in CORE.glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        assert all(m.startswith("caldicott.access.core") for m in modules
                   if m.startswith("caldicott")), path.name
