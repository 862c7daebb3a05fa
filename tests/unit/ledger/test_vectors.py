"""Every RFC 6962/9162 vector in shared/vectors/merkle passes, read from the files."""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from caldicott.ledger.core.merkle import (
    EMPTY_ROOT,
    ProofError,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

REPOSITORY = Path(__file__).parents[3]


def _shared_vectors(repository: Path) -> Path:
    """``../shared/vectors/merkle`` beside the repository (a git worktree may sit a level
    deeper, so the nearest ancestor holding ``shared/`` counts)."""
    for folder in repository.parents:
        if (folder / "shared" / "vectors" / "merkle").is_dir():
            return folder / "shared" / "vectors" / "merkle"
    raise FileNotFoundError(f"no shared/vectors/merkle beside {repository} or above it")


VECTORS = _shared_vectors(REPOSITORY)
STANDARD_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
README_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in case["proof"] or []]


def _files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def _check_inclusion(case: dict[str, Any]) -> None:
    verify_inclusion(case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), _proof(case),
                     _b64(case["root"]))


def _check_consistency(case: dict[str, Any]) -> None:
    verify_consistency(case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]),
                       _proof(case))


def _outcome(check: Any, case: dict[str, Any]) -> bool:
    try:
        check(case)
    except ProofError:
        return False
    return True


@pytest.mark.parametrize(("kind", "check"), [("inclusion", _check_inclusion),
                                             ("consistency", _check_consistency)])
def test_every_vector_file_gives_its_expected_verdict(kind: str, check: Any) -> None:
    files = _files(kind)
    cases = [json.loads(f.read_text()) for f in files]
    wrong = [str(f.relative_to(VECTORS)) for f, c in zip(files, cases, strict=True)
             if _outcome(check, c) == c["wantErr"]]
    happy = sum(not c["wantErr"] for c in cases)
    print(f"{kind}: {len(cases)} files, {happy} happy verified, "
          f"{len(cases) - happy} wantErr rejected, {len(wrong)} wrong")
    assert not wrong
    assert happy > 0 and len(cases) - happy > 0


def test_vector_counts_are_what_the_report_states() -> None:
    counts = {}
    for kind in ("inclusion", "consistency"):
        cases = [json.loads(f.read_text()) for f in _files(kind)]
        counts[kind] = (sum(not c["wantErr"] for c in cases), sum(c["wantErr"] for c in cases))
    assert sum(h + e for h, e in counts.values()) == 196
    assert counts == {"inclusion": (6, 92), "consistency": (6, 92)}


@pytest.mark.parametrize("n", range(9))
def test_roots_of_first_n_standard_leaves_match_readme_table(n: int) -> None:
    root = root_of([leaf_hash(leaf) for leaf in STANDARD_LEAVES[:n]])
    assert root.hex() == README_ROOTS[n]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == README_ROOTS[0]



def test_the_vectors_are_read_from_shared_beside_the_repository(tmp_path: Path) -> None:
    vectors = tmp_path / "shared" / "vectors" / "merkle"
    vectors.mkdir(parents=True)
    assert _shared_vectors(tmp_path / "caldicott") == vectors
    assert _shared_vectors(tmp_path / "wt" / "a-worktree") == vectors


def test_no_absolute_path_is_written_into_the_vector_test() -> None:
    strings = [node.value for node in ast.walk(ast.parse(Path(__file__).read_text()))
               if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    assert [s for s in strings if s.startswith("/") and len(s) > 1] == []
