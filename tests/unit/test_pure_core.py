"""The pure core imports neither the web framework nor the database layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "caldicott"
FORBIDDEN = ("fastapi", "sqlalchemy", "starlette", "alembic", "uvicorn")
# Modules that hold matching, the NHS number, value objects and the policy vocabulary.
PURE_MODULES = [
    "register/records.py",
    "service/outcome.py",
]
PURE_PACKAGES = ["synth", "matching/core", "agreements/core", "ledger/core", "access/core",
                 "requests/core"]


def _pure_files() -> list[Path]:
    files = [SRC / m for m in PURE_MODULES]
    for package in PURE_PACKAGES:
        folder = SRC / package
        if folder.is_dir():
            files.extend(sorted(folder.rglob("*.py")))
        elif folder.with_suffix(".py").exists():
            files.append(folder.with_suffix(".py"))
    return files


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_pure_module_imports_no_framework(path: Path) -> None:
    leaked = _imported_modules(path) & set(FORBIDDEN)
    assert not leaked, f"{path.relative_to(SRC)} imports {sorted(leaked)}"
