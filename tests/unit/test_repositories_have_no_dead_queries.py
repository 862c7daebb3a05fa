"""Every query a repository defines is called from somewhere (code, tests or benchmarks):
a query nobody calls is untested and unreviewed, and drifts from the schema."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
REPOSITORIES = ["access", "agreements", "billing", "checking", "ledger", "matching",
                "requests"]


def _defined(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]


def _calls_outside_definitions(name: str) -> bool:
    word = re.compile(rf"\b{re.escape(name)}\b")
    for folder in ("src", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            uses = [line for line in path.read_text().splitlines()
                    if word.search(line) and not line.lstrip().startswith(f"def {name}(")]
            if uses:
                return True
    return False


@pytest.mark.parametrize("capability", REPOSITORIES)
def test_every_repository_function_is_used(capability: str) -> None:
    path = ROOT / "src" / "caldicott" / capability / "repository.py"
    unused = [name for name in _defined(path) if not _calls_outside_definitions(name)]
    assert unused == []
