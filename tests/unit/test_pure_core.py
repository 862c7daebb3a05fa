"""The pure core imports neither the web framework nor the database layer,
directly or through anything it imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "caldicott"
FORBIDDEN = ("fastapi", "sqlalchemy", "starlette", "alembic", "uvicorn")
# Matching, the NHS number, value objects and the policy vocabulary.
PURE_MODULES = ["postcodes.py", "register/records.py", "register/csv_io.py", "register/merge.py",
                "service/outcome.py"]
PURE_PACKAGES = ["synth", "matching/core", "agreements/core", "ledger/core", "access/core",
                 "requests/core", "signatories/core", "billing/core", "checking/core"]


def _pure_files() -> list[Path]:
    files = [SRC / m for m in PURE_MODULES]
    for package in PURE_PACKAGES:
        files.extend(sorted((SRC / package).rglob("*.py")))
    return files


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


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


def test_pure_core_pulls_in_no_framework_through_its_imports() -> None:
    modules = sorted({_module_name(path) for path in _pure_files()})
    probe = (f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
             f"print(sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
