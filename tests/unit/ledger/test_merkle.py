"""Proof generation follows RFC 9162's recursive definitions, and proofs verify."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

import pytest

from caldicott.ledger.core.merkle import (
    CompactRange,
    NodeId,
    ProofError,
    build_proof,
    consistency_ranges,
    inclusion_ranges,
    largest_power_of_two_below,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.unit.ledger.test_vectors import STANDARD_LEAVES, VECTORS


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, literally."""
    if len(leaves) == 1:
        return leaves[0]
    k = largest_power_of_two_below(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH, literally."""
    if len(leaves) == 1:
        return []
    k = largest_power_of_two_below(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    """RFC 9162 2.1.4.1 SUBPROOF, literally."""
    if m == len(leaves):
        return [] if whole else [mth(leaves)]
    k = largest_power_of_two_below(len(leaves))
    if m <= k:
        return [*subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def stored_nodes(leaves: list[bytes]) -> dict[NodeId, bytes]:
    """What the database keeps: every complete subtree, built by appending."""
    nodes = {(0, i): leaf for i, leaf in enumerate(leaves)}
    compact = CompactRange()
    for leaf in leaves:
        nodes.update({(lvl, pos): h for lvl, pos, h in compact.append(leaf)})
    return nodes


def fetcher(nodes: Mapping[NodeId, bytes]):
    return lambda wanted: {w: nodes[w] for w in wanted}


LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(70)]
NODES = stored_nodes(LEAVES)


@pytest.mark.parametrize("size", range(1, 70))
def test_inclusion_proofs_match_the_rfc_definition_and_verify(size: int) -> None:
    root = mth(LEAVES[:size])
    assert CompactRange.unpack(size, stored_compact(size)).root() == root
    for index in range(size):
        proof = build_proof(inclusion_ranges(index, size), fetcher(NODES))
        assert proof == path(index, LEAVES[:size])
        verify_inclusion(index, size, LEAVES[index], proof, root)


def stored_compact(size: int) -> bytes:
    compact = CompactRange()
    for leaf in LEAVES[:size]:
        compact.append(leaf)
    return compact.pack()


@pytest.mark.parametrize("second", range(1, 70))
def test_consistency_proofs_match_the_rfc_definition_and_verify(second: int) -> None:
    second_root = mth(LEAVES[:second])
    for first in range(1, second + 1):
        proof = build_proof(consistency_ranges(first, second), fetcher(NODES))
        assert proof == subproof(first, LEAVES[:second], True)
        verify_consistency(first, second, mth(LEAVES[:first]), second_root, proof)


def test_generated_proofs_equal_the_vectors_happy_paths() -> None:
    leaves = [leaf_hash(leaf) for leaf in STANDARD_LEAVES]
    nodes = stored_nodes(leaves)
    seen = 0
    for file in sorted(VECTORS.rglob("happy-path.json")):
        case = json.loads(file.read_text())
        wanted = [base64.b64decode(p) for p in case["proof"] or []]
        if "leafIdx" in case:
            ranges = inclusion_ranges(case["leafIdx"], case["treeSize"])
        else:
            ranges = consistency_ranges(case["size1"], case["size2"])
        assert build_proof(ranges, fetcher(nodes)) == wanted, file
        seen += 1
    assert seen == 10


def test_a_proof_for_another_leaf_is_rejected() -> None:
    proof = build_proof(inclusion_ranges(3, 10), fetcher(NODES))
    with pytest.raises(ProofError):
        verify_inclusion(3, 10, LEAVES[4], proof, mth(LEAVES[:10]))


def test_a_rewritten_history_fails_consistency() -> None:
    forged = [*LEAVES[:5], leaf_hash(b"forged"), *LEAVES[6:12]]
    proof = build_proof(consistency_ranges(8, 12), fetcher(stored_nodes(forged)))
    with pytest.raises(ProofError):
        verify_consistency(8, 12, mth(LEAVES[:8]), mth(forged), proof)


def test_compact_range_refuses_the_wrong_number_of_hashes() -> None:
    with pytest.raises(ProofError):
        CompactRange(3, [LEAVES[0]])


def test_ranges_refuse_impossible_sizes() -> None:
    with pytest.raises(ProofError):
        inclusion_ranges(5, 5)
    with pytest.raises(ProofError):
        consistency_ranges(0, 5)
