"""The auditor's ledger explorer: entries paged and filtered, one entry's inclusion proof
against the latest signed checkpoint, and consistency between a saved checkpoint and today's.

Paging is a keyset on the leaf index, newest first: each filter (type, agreement,
time recorded) has an index ending in the leaf index, so a page costs the same
at the millionth entry as at the first. The filters read copies of what each
entry says (``ledger_entry.type``, ``recorded``, ``agreement``); what is shown
is the entry itself, the bytes the tree binds, and an entry whose copies
disagree with it is flagged on the page (someone edited the database).

The rules of ledger reads are those of ``GET /ledger/entries``: only a reader
whose reach is every organisation (``read_ledger``; reviewers and auditors of
NHS Digital or a regulator) may page through entries, since they span every
organisation's requests; every page read is itself an entry. The leaves hold
no identifier, only per-entry commitments to pseudonyms. Proofs and checkpoints
carry only hashes and are public, as the API's are.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from caldicott.access.core.policy import can, ensure
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action
from caldicott.errors import InvalidInput, NotFound
from caldicott.ledger import repository, service
from caldicott.ledger.core.checkpoint import (
    CheckpointError,
    open_checkpoint,
    origin_for,
    verifier_key,
)
from caldicott.ledger.core.events import entry_facets
from caldicott.ledger.core.merkle import ProofError, verify_consistency, verify_inclusion
from caldicott.ledger.keys import load_or_create_key
from caldicott.ledger.models import LedgerEntry
from caldicott.settings import Settings

MAX_PAGE = 200
_CODE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/#-")


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """What the auditor filters by; dates are whole UTC days, both ends included."""

    type: str | None = None
    agreement: str | None = None
    recorded_from: dt.date | None = None
    recorded_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ExplorerEntry:
    index: int
    entry: str  # the canonical JSON the leaf hashes
    leaf_hash: bytes
    type: str | None
    recorded: dt.datetime | None
    agreement: str | None
    tampered: bool  # the filter columns disagree with the entry: run `caldicott ledger verify`


@dataclass(frozen=True, slots=True)
class EntryPage:
    entries: tuple[ExplorerEntry, ...]
    tree_size: int
    next_before: int | None  # pass as ``before`` for the next (older) page; None on the last


@dataclass(frozen=True, slots=True)
class SignedHead:
    """The checkpoint the explorer shows, and the key to check it with."""

    tree_size: int
    root: bytes
    note: str  # the C2SP signed note, to copy
    verifier_key: str  # signed-note verifier key: name+key id+base64(0x01 || Ed25519 key)


@dataclass(frozen=True, slots=True)
class EntryProof:
    """One entry with its RFC 9162 inclusion proof in the tree of a signed checkpoint."""

    index: int
    entry: str
    leaf_hash: bytes
    inclusion_path: tuple[bytes, ...]
    checkpoint: SignedHead
    verified_here: bool  # the server's own check (the page's answer without JavaScript)

    def for_browser(self) -> dict[str, Any]:
        """What ``ledger/static/proof-check.js`` takes (``ProofCheck.checkEntry``)."""
        return {"entry": self.entry, "leafHash": _b64(self.leaf_hash), "leafIndex": self.index,
                "treeSize": self.checkpoint.tree_size,
                "inclusionPath": [_b64(h) for h in self.inclusion_path],
                "checkpoint": self.checkpoint.note, "verifierKey": self.checkpoint.verifier_key}


@dataclass(frozen=True, slots=True)
class ConsistencyCheck:
    first: int
    first_root: bytes
    checkpoint: SignedHead  # today's
    consistency_path: tuple[bytes, ...]
    consistent: bool
    problem: str | None  # in words, when not consistent


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _ensure_may_page(principal: Principal) -> None:
    ensure(can(principal, Action.READ_LEDGER))
    ensure(can(principal, Action.READ_LEDGER, organisation_id=-1))


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _code(name: str, value: str | None) -> str | None:
    if value is not None and (not value or len(value) > 64 or set(value) - _CODE):
        raise InvalidInput(f"{name} is a short code (letters, digits, . _ : / # -)")
    return value


def _period(wanted: EntryFilter) -> tuple[int | None, int | None]:
    """The filter's days as ``[low, high)`` in seconds since 1970."""
    if wanted.recorded_from and wanted.recorded_to and wanted.recorded_from > wanted.recorded_to:
        raise InvalidInput("the first day is after the last day")
    return (_epoch(wanted.recorded_from) if wanted.recorded_from else None,
            _epoch(wanted.recorded_to + dt.timedelta(1)) if wanted.recorded_to else None)


def _conditions(wanted: EntryFilter) -> list[Any]:
    conditions: list[Any] = []
    if _code("type", wanted.type) is not None:
        conditions.append(LedgerEntry.type == wanted.type)
    if _code("agreement", wanted.agreement) is not None:
        conditions.append(LedgerEntry.agreement == wanted.agreement)
    # ``recorded + 0``: the period is already an index range (see _rows); a planner that
    # used the time index here would fetch and sort the whole period instead.
    low, high = _period(wanted)
    if low is not None:
        conditions.append(LedgerEntry.recorded + 0 >= low)
    if high is not None:
        conditions.append(LedgerEntry.recorded + 0 < high)
    return conditions


def _rows(session: Session, wanted: EntryFilter, before: int | None,
          limit: int) -> list[tuple[int, bytes, bytes]]:
    low, high = _period(wanted)
    conditions = _conditions(wanted)
    if low is None and high is None:
        return repository.explore(session, conditions, before, limit)
    bounds = repository.index_bounds(session, low, high)
    if bounds is None:
        return []
    below = bounds[1] + 1 if before is None else min(before, bounds[1] + 1)
    return repository.explore(session, conditions, below, limit, since=bounds[0])


def _shown(index: int, entry: bytes, leaf: bytes, wanted: EntryFilter) -> ExplorerEntry:
    kind, recorded, agreement = entry_facets(entry)
    low = _epoch(wanted.recorded_from) if wanted.recorded_from else None
    high = _epoch(wanted.recorded_to + dt.timedelta(1)) if wanted.recorded_to else None
    tampered = recorded is None or (
        (wanted.type is not None and kind != wanted.type)
        or (wanted.agreement is not None and agreement != wanted.agreement)
        or (low is not None and recorded < low) or (high is not None and recorded >= high))
    return ExplorerEntry(index, entry.decode("utf-8", "replace"), leaf, kind,
                         dt.datetime.fromtimestamp(recorded, dt.UTC) if recorded else None,
                         agreement, tampered)


def entries(session: Session, settings: Settings, principal: Principal, wanted: EntryFilter,
            before: int | None = None, limit: int = 50) -> EntryPage:
    """A page of entries meeting ``wanted``, newest first, older than index ``before``.

    Writes one ledger entry (the read); call it inside a write transaction.

    Example:
        >>> page = entries(session, settings, auditor, EntryFilter(type="disclosure"))
        ... # doctest: +SKIP
        >>> page.entries[0].type  # doctest: +SKIP
        'disclosure'
    """
    from caldicott.access.reads import audit_read

    _ensure_may_page(principal)
    limit = max(1, min(limit, MAX_PAGE))
    size, _ = service.tree_head(session)
    rows = _rows(session, wanted, before, limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    shown = tuple(_shown(i, e, h, wanted) for i, e, h in rows)
    audit_read(session, settings, principal, "ledger/entries", details={
        "start": rows[-1][0] if rows else 0, "end": rows[0][0] + 1 if rows else 0,
        "read": len(rows), "filtered": bool(_conditions(wanted))})
    return EntryPage(shown, size, rows[-1][0] if more and rows else None)


def filter_choices(session: Session, principal: Principal) -> tuple[list[str], list[str]]:
    """The entry types and the agreements that occur in the log (the filters' options)."""
    _ensure_may_page(principal)
    return (repository.distinct_values(session, LedgerEntry.type),
            repository.distinct_values(session, LedgerEntry.agreement))


def _head(settings: Settings, size: int, root: bytes, note: str) -> SignedHead:
    public = load_or_create_key(settings.data_dir).public_key()
    return SignedHead(size, root, note, verifier_key(origin_for(public), public))


def signed_head(session: Session, settings: Settings, covering: int = 0) -> SignedHead:
    """The latest signed checkpoint, signing the current tree head only when none yet
    covers ``covering`` leaves (so reading the explorer does not sign on every view)."""
    latest = repository.latest_checkpoint(session)
    if latest is None or latest[0] < max(covering, 1):
        signed = service.checkpoint(session, settings)
        return _head(settings, signed.tree_size, signed.root, signed.note)
    return _head(settings, *latest)


def entry_proof(session: Session, settings: Settings, principal: Principal,
                index: int) -> EntryProof:
    """Entry ``index`` and its inclusion proof against the latest signed checkpoint.

    Example:
        >>> entry_proof(session, settings, auditor, 41).for_browser()["treeSize"]
        ... # doctest: +SKIP
        1042
    """
    from caldicott.access.reads import audit_read

    _ensure_may_page(principal)
    found = repository.entry_at(session, index) if index >= 0 else None
    if found is None:
        raise NotFound(f"no ledger entry {index}")
    head = signed_head(session, settings, covering=index + 1)
    proof = service.inclusion_proof(session, index, head.tree_size)
    try:
        verify_inclusion(index, head.tree_size, found[1], proof.proof, head.root)
        verified = True
    except ProofError:
        verified = False
    audit_read(session, settings, principal, "ledger/entries",
               details={"start": index, "end": index + 1, "read": 1, "proof": True})
    return EntryProof(index, found[0].decode("utf-8", "replace"), found[1], tuple(proof.proof),
                      head, verified)


def consistency(session: Session, settings: Settings, first: int,
                first_root: bytes) -> ConsistencyCheck:
    """Does today's signed tree extend a saved one (``first`` leaves, root ``first_root``)?

    An answer either way is an outcome, never an error: a saved tree larger than
    today's, or a root this log never had, is reported as not consistent.
    """
    if first < 1:
        raise InvalidInput("a saved checkpoint has at least one entry")
    head = signed_head(session, settings, covering=first)
    if first > head.tree_size:
        return ConsistencyCheck(first, first_root, head, (), False,
                                f"the saved checkpoint has {first} entries, today's only "
                                f"{head.tree_size}: the log has lost entries, or it is "
                                "another log's checkpoint")
    proof = service.consistency_proof(session, first, head.tree_size)
    try:
        verify_consistency(first, head.tree_size, first_root, head.root, proof.proof)
    except ProofError as error:
        return ConsistencyCheck(first, first_root, head, tuple(proof.proof), False,
                                f"today's log does not extend the saved checkpoint ({error})")
    return ConsistencyCheck(first, first_root, head, tuple(proof.proof), True, None)


def consistency_with_note(session: Session, settings: Settings, note: str) -> ConsistencyCheck:
    """As :func:`consistency`, from a saved signed note (its signature checked first)."""
    public = load_or_create_key(settings.data_dir).public_key()
    try:
        saved = open_checkpoint(note.replace("\r\n", "\n"), public)
    except CheckpointError as error:
        raise InvalidInput(f"the saved checkpoint: {error}") from None
    return consistency(session, settings, saved.size, saved.root)
