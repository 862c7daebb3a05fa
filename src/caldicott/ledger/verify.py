"""``ledger verify``: recompute the whole tree from the stored entries and check everything.

One pass over the entries in index order, with the stored subtree hashes and the
details streamed alongside. For each leaf: the index is the next one expected
(a gap is a deleted row, a repeat an inserted one), the entry hashes to its
stored leaf hash (an edit), and its seal matches (a row moved, inserted or rewritten
by anyone without the log's key). Each subject commitment the leaf holds must
be the hash of its private opening (pseudonym and nonce, in ``ledger_subject``),
one opening per commitment. Each subtree the leaf completes must equal
the stored one (proofs are served from those). At the end the head, every stored
signed checkpoint and, when given, an auditor's saved checkpoint are checked, the
last with an RFC 9162 consistency proof: the log only grew since.

Entries committed but not yet integrated (``ledger_queue``, PostgreSQL) are
checked too: each must hash to its leaf hash, carry a valid queue seal and
match its details; they are counted in ``queued``, and the next integration
round (the sequencer's after any commit, the service's at start-up,
``caldicott ledger checkpoint``) puts them in the tree. A queued row a round
refused (forged or damaged) was set aside in ``ledger_quarantine``; verify names
each one, and fails, until someone deals with it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from caldicott.ledger import repository
from caldicott.ledger.core.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from caldicott.ledger.core.events import COMMITMENT_TAG, claimed_commitments
from caldicott.ledger.core.merkle import (
    CompactRange,
    ProofError,
    build_proof,
    consistency_ranges,
    verify_consistency,
)
from caldicott.ledger.keys import has_key, load_or_create_key
from caldicott.ledger.service import queued_row_problem, seal_key
from caldicott.settings import Settings

PROGRESS_EVERY = 10_000
_sha256 = hashlib.sha256
_DETAILS_MARK = b'"details_sha256":"'  # canonical JSON spells the key exactly so
_COMMITMENT_MARK = b'"commitment_sha256":"'


class _Bad(Exception):
    def __init__(self, index: int | None, message: str) -> None:
        super().__init__(message)
        self.index = index


@dataclass
class VerifyReport:
    """What ``verify`` found. ``first_bad_index`` names the first leaf that fails."""

    tree_size: int = 0
    root: bytes = b""
    checkpoints_checked: int = 0
    consistent_with: int | None = None
    problems: list[str] = field(default_factory=list)
    first_bad_index: int | None = None
    queued: int = 0  # committed entries waiting for an integration round

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, index: int | None, message: str) -> None:
        if index is not None and (self.first_bad_index is None or index < self.first_bad_index):
            self.first_bad_index = index
        self.problems.append(message)


def verify(session: Session, settings: Settings, saved_note: str | None = None,
           progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Check the whole ledger; pass an auditor's saved checkpoint to prove it only grew.

    Run it in one snapshot (a SERIALIZABLE or REPEATABLE READ transaction) when
    appends may be running.

    Example:
        >>> report = verify(session, settings)  # doctest: +SKIP
        >>> report.ok, report.tree_size
        (True, 1042)
    """
    report = VerifyReport()
    head_size, head_root, head_frontier = repository.read_head(session)
    if head_size and not has_key(settings.data_dir):
        report.fail(None, f"the ledger's key is missing from {settings.data_dir}/keys: seals "
                          "and checkpoints cannot be checked; restore it from backup")
        return report
    public_key = load_or_create_key(settings.data_dir).public_key()
    stored = repository.all_checkpoints(session)
    saved = _open_saved(saved_note, public_key, report)
    wanted = {int(row.tree_size) for row in stored} | ({saved.size} if saved else set())
    roots: dict[int, bytes] = {0: CompactRange().root()} if 0 in wanted else {}
    compact = CompactRange()
    try:
        _walk(session, settings, compact, wanted, roots, progress)
    except _Bad as bad:
        report.fail(bad.index, str(bad))
    else:
        _check_head(compact, head_size, head_root, head_frontier, report)
    report.tree_size, report.root = compact.size, compact.root()
    _check_queue(session, settings, report)
    _check_bound_records(session, report)
    for row in stored:
        _check_stored_checkpoint(row, public_key, roots, report)
    if saved is not None and report.ok:
        _check_saved(session, saved, compact, roots, report)
    return report


def _check_bound_records(session: Session, report: VerifyReport) -> None:
    """Records kept beside the log whose digests the log carries (the public-interest
    decisions): each must still hash to a digest the ledger recorded."""
    from caldicott.requests.integrity import public_interest_problems

    integrated = (bytes(body) for _, body in repository.stream_details(session))
    queued = (bytes(row[3]) for row in repository.stream_queue(session) if row[3] is not None)
    for problem in public_interest_problems(session, itertools.chain(integrated, queued)):
        report.fail(None, problem)


def _open_saved(note: str | None, public_key: Any, report: VerifyReport) -> Checkpoint | None:
    if note is None:
        return None
    try:
        return open_checkpoint(note, public_key)
    except CheckpointError as error:
        report.fail(None, f"the saved checkpoint is not one this log signed: {error}")
        return None


def _walk(session: Session, settings: Settings, compact: CompactRange, wanted: set[int],
          roots: dict[int, bytes], progress: Callable[[int], None] | None) -> None:
    """The one pass. Written as a flat loop because it runs a million times per verify."""
    key, mark, skip = seal_key(settings), _DETAILS_MARK, len(_DETAILS_MARK)
    sha256, digest = hashlib.sha256, hmac.digest
    nodes = repository.stream_nodes(session)
    details = repository.stream_details(session)
    subjects = repository.stream_subjects(session)
    node, detail, subject = next(nodes, None), next(details, None), next(subjects, None)
    hashes = compact.hashes  # the right edge, updated in place (CompactRange.append, inlined)
    for index, entry, stored_leaf, stored_seal in repository.stream_entries(session):
        if index != compact.size:
            first = min(index, compact.size)
            raise _Bad(first, f"index {first} " + (
                "is missing" if index > compact.size else "appears twice"))
        leaf = sha256(b"\x00" + entry).digest()
        if leaf != stored_leaf:
            raise _Bad(index, f"index {index}: entry does not match its leaf hash (edited)")
        # A plain comparison: verify compares stored values, there is no secret to time.
        if digest(key, index.to_bytes(8, "big") + leaf, "sha256") != stored_seal:
            raise _Bad(index, f"index {index}: seal does not match (row moved, inserted or "
                              "rewritten outside caldicott)")
        at = entry.find(mark)
        if at >= 0 or (detail is not None and detail[0] <= index):
            claimed = entry[at + skip:at + skip + 64].decode() if at >= 0 else None
            _check_details(index, claimed, detail)
            detail = next(details, None)
        if entry.find(_COMMITMENT_MARK) >= 0 or (subject is not None and subject[0] <= index):
            subject = _check_subjects(index, entry, subject, subjects)
        level, position, value = 0, index, leaf
        while position & 1:
            value = sha256(b"\x01" + hashes.pop() + value).digest()
            level, position = level + 1, position >> 1
            if node is None or node[0] != ((index << 6) | level) or node[1] != value:
                _node_problem(level, position, node, (index << 6) | level)
            node = next(nodes, None)
        hashes.append(value)
        compact.size = size = index + 1
        if size in wanted:
            roots[size] = compact.root()
        if progress is not None and size % PROGRESS_EVERY == 0:
            progress(size)
    if node is not None:
        raise _Bad(compact.size, f"stored subtree hashes beyond the last leaf ({compact.size})")
    if detail is not None:
        raise _Bad(int(detail[0]), "details stored for a leaf that does not exist")
    if subject is not None:
        raise _Bad(int(subject[0]), "subjects stored for a leaf that does not exist")
    if progress is not None:
        progress(compact.size)


def _check_subjects(index: int, entry: bytes, row: Any, rows: Iterator[Any]) -> Any:
    """The leaf's subject commitments must be the hashes of its private openings, one
    each, in order. Returns the first opening row of a later leaf (or None)."""
    if row is not None and row[0] < index:
        raise _Bad(int(row[0]), f"index {int(row[0])}: subjects stored out of place")
    found: list[bytes] = []
    while row is not None and row[0] == index:
        _, position, kind, pseudonym, nonce = row
        if position != len(found):
            raise _Bad(index, f"index {index}: a subject is missing or stored twice")
        # SubjectOpening.commitment(), inlined: verify runs this for every subject.
        found.append(_sha256(COMMITMENT_TAG + kind.encode() + b"\x00" + pseudonym
                             + nonce).digest())
        row = next(rows, None)
    if found != claimed_commitments(entry):
        raise _Bad(index, f"index {index}: subjects do not match the commitments in the leaf "
                          "(a subject or nonce was edited, added or deleted)")
    return row


def _check_queue(session: Session, settings: Settings, report: VerifyReport) -> None:
    key = seal_key(settings)
    for row in repository.stream_queue(session):
        report.queued += 1
        problem = queued_row_problem(key, repository.queued_row(row))
        if problem is not None:
            report.fail(None, problem)
    for _, problem in repository.quarantined(session):
        report.fail(None, f"{problem} (set aside in ledger_quarantine, not in the tree)")


def _node_problem(level: int, position: int, node: Any, key: int) -> None:
    start, last = position << level, ((position + 1) << level) - 1
    if node is None or node[0] > key:
        raise _Bad(start, f"stored subtree over leaves {start}..{last} is missing")
    if node[0] < key:
        raise _Bad(start, f"an extra stored subtree hash sits before leaf {start}")
    raise _Bad(start, f"stored subtree over leaves {start}..{last} does not match its leaves")


def _check_details(index: int, claimed: str | None, row: Any) -> None:
    """Details sit beside the log: the leaf's hash of them must match, one row per leaf."""
    if row is not None and row[0] < index:
        raise _Bad(int(row[0]), f"index {int(row[0])}: details stored twice or out of place")
    has_row = row is not None and row[0] == index
    if claimed is None and has_row:
        raise _Bad(index, f"index {index}: details stored but the leaf binds none")
    if claimed is not None and not has_row:
        raise _Bad(index, f"index {index}: the leaf binds details that are missing")
    if claimed is not None and hashlib.sha256(row[1]).hexdigest() != claimed:
        raise _Bad(index, f"index {index}: details do not match the hash in the leaf")


def _check_head(compact: CompactRange, size: int, root: bytes, frontier: bytes,
                report: VerifyReport) -> None:
    if size > compact.size:
        report.fail(compact.size, f"the log records {size} entries but only {compact.size} are "
                                  f"stored: index {compact.size} is missing (deleted)")
    elif size < compact.size:
        report.fail(size, f"index {size} and later were added outside caldicott "
                          f"(the log records {size} entries)")
    elif root != compact.root() or frontier != compact.pack():
        report.fail(None, "the stored tree head does not match the entries")


def _check_stored_checkpoint(row: Any, public_key: Any, roots: dict[int, bytes],
                             report: VerifyReport) -> None:
    size = int(row.tree_size)
    try:
        signed = open_checkpoint(row.note, public_key)
    except CheckpointError as error:
        report.fail(None, f"stored checkpoint at size {size}: {error}")
        return
    report.checkpoints_checked += 1
    if signed.size != size or signed.root != bytes(row.root):
        report.fail(None, f"stored checkpoint at size {size} was altered")
    elif size not in roots:
        report.fail(None, f"signed checkpoint at size {size} is beyond the verified entries")
    elif roots[size] != signed.root:
        report.fail(None, f"signed checkpoint at size {size} does not match the entries: "
                          f"history before index {size} was rewritten")


def _check_saved(session: Session, saved: Checkpoint, compact: CompactRange,
                 roots: dict[int, bytes], report: VerifyReport) -> None:
    if saved.size > compact.size:
        report.fail(compact.size, f"the log has {compact.size} entries, fewer than the saved "
                                  f"checkpoint's {saved.size}: entries were deleted")
        return
    if saved.size > 0:
        proof = build_proof(consistency_ranges(saved.size, compact.size),
                            lambda wanted: repository.fetch_nodes(session, wanted))
        try:
            verify_consistency(saved.size, compact.size, saved.root, compact.root(), proof)
        except ProofError as error:
            report.fail(None, f"not consistent with the saved checkpoint at size {saved.size}: "
                              f"{error}; history before index {saved.size} was rewritten")
            return
    if roots.get(saved.size) != saved.root:
        report.fail(None, f"the saved checkpoint's root does not match the first {saved.size} "
                          "entries")
        return
    report.consistent_with = saved.size
