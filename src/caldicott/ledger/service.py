"""Ledger use cases: append (in the caller's transaction), proofs, entries, checkpoints.

Nothing here commits. ``append`` runs inside whatever transaction the caller
holds, so a disclosure and the ledger entry recording it commit together or not
at all. Appends queue on one lock (the head row), which keeps leaf indexes dense.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy.orm import Session

from caldicott.errors import Conflict, Unprocessable
from caldicott.ledger import repository
from caldicott.ledger.core.checkpoint import Checkpoint, origin_for
from caldicott.ledger.core.events import AuditEvent
from caldicott.ledger.core.merkle import (
    CompactRange,
    NodeId,
    Range,
    complete_pieces,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    needed_nodes,
    range_hash,
)
from caldicott.ledger.keys import load_or_create_key
from caldicott.ledger.repository import node_key
from caldicott.settings import Settings

MAX_ENTRIES_PER_PAGE = 1000


@dataclass(frozen=True, slots=True)
class LedgerReceipt:
    """Where an appended event landed: its leaf index and hash, and the tree it is now in."""

    index: int
    leaf_hash: bytes
    tree_size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    root: bytes
    proof: list[bytes]


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    proof: list[bytes]


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    tree_size: int
    root: bytes
    note: str


def seal_key(settings: Settings) -> bytes:
    """The key for row seals, derived from the log's signing key in the data folder.

    Not from ``CALDICOTT_SECRET_KEY``: rotating the pseudonym secret must not
    make every existing seal fail. Like the signing key, it is never in the
    database, so someone with only the database cannot forge a seal.
    """
    return seal_key_from(load_or_create_key(settings.data_dir))


@lru_cache(maxsize=8)
def seal_key_from(key: Ed25519PrivateKey) -> bytes:
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return hmac.digest(raw, b"caldicott-ledger-seal", "sha256")


def seal(key: bytes, index: int, leaf: bytes) -> bytes:
    return hmac.digest(key, index.to_bytes(8, "big") + leaf, "sha256")


def append(session: Session, settings: Settings, event: AuditEvent) -> LedgerReceipt:
    """Record one event in the ledger, in the caller's transaction.

    Example:
        >>> with unit_of_work(engine) as session:  # doctest: +SKIP
        ...     release(session, request)
        ...     append(session, settings, event).index
        41
    """
    return append_many(session, settings, [event])[0]


def append_many(session: Session, settings: Settings,
                events: Sequence[AuditEvent]) -> list[LedgerReceipt]:
    """Record several events under one lock, in order, in the caller's transaction."""
    size, frontier = repository.lock_head(session)
    compact = CompactRange.unpack(size, frontier)
    key = seal_key(settings)
    entries: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    for event in events:
        body = event.details_json()
        entry = event.entry(hashlib.sha256(body).hexdigest() if body else None)
        leaf, index = leaf_hash(entry), compact.size
        nodes.extend({"key": node_key(level, position), "hash": value}
                     for level, position, value in compact.append(leaf))
        entries.append({"index": index, "entry": entry, "leaf_hash": leaf,
                        "seal": seal(key, index, leaf)})
        if body:
            details.append({"index": index, "body": body})
    root = compact.root()
    repository.insert_leaves(session, entries, details, nodes)
    repository.write_head(session, compact.size, root, compact.pack())
    return [LedgerReceipt(e["index"], e["leaf_hash"], compact.size, root) for e in entries]


def tree_head(session: Session) -> tuple[int, bytes]:
    """The current ``(tree_size, root)``."""
    size, root, _ = repository.read_head(session)
    return size, root


def _proof_nodes(session: Session, size: int, ranges: Sequence[Range],
                 extra: set[NodeId]) -> dict[NodeId, bytes]:
    """Every hash a proof in the tree of ``size`` needs, and the head, in one round trip."""
    wanted = needed_nodes(ranges) | extra
    current, found = repository.fetch_nodes_with_size(session, wanted)
    if size > current:
        raise Unprocessable(f"tree size {size} is beyond the current size {current}")
    if len(found) != len(wanted):
        raise Conflict("the ledger's stored tree is incomplete; run `caldicott ledger verify`")
    return found


def _requested_size(session: Session, requested: int | None, name: str) -> int:
    if requested is None:
        return tree_head(session)[0]
    if requested <= 0:
        raise Unprocessable(f"{name} must be at least 1")
    return requested


def inclusion_proof(session: Session, index: int, tree_size: int | None = None) -> InclusionProof:
    """The RFC 9162 inclusion proof of leaf ``index`` in the tree of ``tree_size`` leaves.

    Example:
        >>> inclusion_proof(session, 5, 8).proof  # doctest: +SKIP
        [b'...', b'...', b'...']
    """
    size = _requested_size(session, tree_size, "tree_size")
    if not 0 <= index < size:
        raise Unprocessable(f"index must be between 0 and {size - 1} for a tree of size {size}")
    ranges = inclusion_ranges(index, size)
    lookup = _proof_nodes(session, size, ranges, {(0, index), *complete_pieces(0, size)})
    return InclusionProof(index, size, lookup[(0, index)], range_hash((0, size), lookup),
                          [range_hash(span, lookup) for span in ranges])


def consistency_proof(session: Session, first: int, second: int | None = None) -> ConsistencyProof:
    """The RFC 9162 proof that the tree of ``second`` leaves extends the one of ``first``.

    Example:
        >>> consistency_proof(session, 3, 7).proof  # doctest: +SKIP
        [b'...', b'...', b'...', b'...']
    """
    second = _requested_size(session, second, "second")
    if not 0 < first <= second:
        raise Unprocessable(f"first must be between 1 and second ({second})")
    ranges = consistency_ranges(first, second)
    lookup = _proof_nodes(session, second, ranges,
                          {*complete_pieces(0, first), *complete_pieces(0, second)})
    return ConsistencyProof(first, second, range_hash((0, first), lookup),
                            range_hash((0, second), lookup),
                            [range_hash(span, lookup) for span in ranges])


def entries(session: Session, start: int, end: int) -> list[tuple[int, bytes, bytes]]:
    """Entries ``start <= index < end`` as ``(index, entry, leaf_hash)``; at most 1,000."""
    size, _ = tree_head(session)
    if not 0 <= start < end:
        raise Unprocessable("need 0 <= start < end")
    if end - start > MAX_ENTRIES_PER_PAGE:
        raise Unprocessable(f"at most {MAX_ENTRIES_PER_PAGE} entries per page")
    if start >= size:
        raise Unprocessable(f"start is beyond the end of the log (size {size})")
    return repository.entries_between(session, start, min(end, size))


def checkpoint(session: Session, settings: Settings) -> SignedCheckpoint:
    """Sign the current tree head (once per size) and keep the signed note.

    Example:
        >>> checkpoint(session, settings).note.splitlines()[1]  # doctest: +SKIP
        '1042'
    """
    size, root = tree_head(session)
    note = repository.checkpoint_at(session, size)
    if note is None:
        key = load_or_create_key(settings.data_dir)
        note = Checkpoint(origin_for(key.public_key()), size, root).sign(key)
        repository.save_checkpoint(session, size, root, note)
        note = repository.checkpoint_at(session, size) or note
    return SignedCheckpoint(size, root, note)
