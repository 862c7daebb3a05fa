"""Ledger use cases: append (in the caller's transaction), proofs, entries, checkpoints.

Nothing here commits. ``append`` runs inside whatever transaction the caller
holds, so a disclosure and the ledger entry recording it commit together or not
at all.

How an append gets its place in the tree. The tree's right edge is one row
(``ledger_head``); giving a leaf its index means holding that row's lock until
the transaction commits, so that a rollback leaves no gap.

* SQLite: that lock is the database's single write lock, which every writer
  takes anyway, so an append integrates directly: its index is known at once.
* PostgreSQL: a lock held until commit would make every appender wait for the
  previous one's WAL flush. So an append *queues* its entry instead
  (``ledger_queue``: content, leaf hash and a seal made with a key outside the
  database, all fixed, committed with the change, no lock taken), as a
  Certificate Transparency log or Trillian's frontend does. Concurrent appenders
  commit independently and PostgreSQL flushes their commits together.
  A *sequencer* thread in the committing process then runs an integration round
  (:func:`integrate`): it takes the head lock, gives every queued entry the next
  index in queue order, stores its subtrees, and commits. Rounds start
  ``MERGE_WINDOW`` after the first commit that needs one, so one round (one
  commit) serves every transaction that committed meanwhile.

A PostgreSQL commit therefore promises that the entry is durable, sealed and
checked by ``verify``, and that it enters the tree within the merge delay (one
window plus one round, milliseconds). A checkpoint integrates the queue before
it signs, so every signed tree head covers every entry committed before it. A
crash between a commit and its round leaves entries in the queue; the service
integrates them when it starts, and any round, checkpoint or
``caldicott ledger checkpoint`` takes them first, in order.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import logging
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, SessionTransaction

from caldicott.errors import Conflict, Unprocessable
from caldicott.ledger import repository
from caldicott.ledger.core.checkpoint import Checkpoint, origin_for
from caldicott.ledger.core.events import (
    AuditEvent,
    Pseudonym,
    SubjectOpening,
    claimed_commitments,
    decode_openings,
    encode_openings,
    entry_facets,
    pseudonymise,
)
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
from caldicott.ledger.keys import load_or_create_key, pseudonym_key
from caldicott.ledger.repository import EntryRow, QueuedRow, SubjectRow, node_key
from caldicott.settings import Settings

MAX_ENTRIES_PER_PAGE = 1000
MAX_TREE_SIZE = 2**56  # node keys (last leaf * 64 + level) stay within a signed 64-bit key
ROUND_LIMIT = 5000  # queued entries integrated per statement
ROUND_LOCK_TIMEOUT = "10s"  # a round waits this long for the head, then leaves it queued
MERGE_WINDOW = 0.01  # seconds from the first commit that needs a round to the round
SEQUENCER_IDLE = 2.0  # seconds without commits after which a sequencer thread ends
QUEUE_SEAL_TAG = b"caldicott-ledger-queued\x00"
_DETAILS_MARK = b'"details_sha256":"'  # canonical JSON spells the key exactly so
_QUEUED = "caldicott.ledger.queued"  # session.info: this transaction queued entries
_COMMITTED = "caldicott.ledger.committed"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LedgerReceipt:
    """Where an appended event landed: its leaf hash and, once known, index and tree.

    ``index``, ``tree_size`` and ``root`` are None when the entry was queued
    (PostgreSQL): it gets its index in the integration round after the commit.
    """

    index: int | None
    leaf_hash: bytes
    tree_size: int | None
    root: bytes | None


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
    return _seal_key_in(settings.data_dir)


@lru_cache(maxsize=8)
def _seal_key_in(data_dir: Path) -> bytes:
    return seal_key_from(load_or_create_key(data_dir))


@lru_cache(maxsize=8)
def seal_key_from(key: Ed25519PrivateKey) -> bytes:
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return hmac.digest(raw, b"caldicott-ledger-seal", "sha256")


def subject_of(settings: Settings, nhs_number: str) -> Pseudonym:
    """The pseudonym standing in for a patient's NHS number in the ledger.

    Keyed with the pseudonym key in the data folder (:func:`~caldicott.ledger.keys.
    pseudonym_key`), never with ``CALDICOTT_SECRET_KEY``: 32 random bytes cannot be
    guessed, so nobody can recover a number by trying the number space.

    Example:
        >>> subject_of(settings, "943 476 5919").kind  # doctest: +SKIP
        'nhs_number'
    """
    return pseudonym_of(settings, "nhs_number", nhs_number)


def pseudonym_of(settings: Settings, kind: str, value: str) -> Pseudonym:
    """The pseudonym of any identifier ``kind`` (see ``IDENTIFIER_KINDS``)."""
    return pseudonymise(pseudonym_key(settings.data_dir), kind, value)


def seal(key: bytes, index: int, leaf: bytes) -> bytes:
    return hmac.digest(key, index.to_bytes(8, "big") + leaf, "sha256")


def queue_seal(key: bytes, leaf: bytes) -> bytes:
    """The seal of a queued entry: only caldicott (holding the key) can queue one."""
    return hmac.digest(key, QUEUE_SEAL_TAG + leaf, "sha256")


def claimed_details(entry: bytes) -> str | None:
    """The details SHA-256 (hex) a leaf entry binds, or None."""
    at = entry.find(_DETAILS_MARK)
    return None if at < 0 else entry[at + len(_DETAILS_MARK):at + len(_DETAILS_MARK) + 64].decode()


def queued_row_problem(key: bytes, row: QueuedRow) -> str | None:
    """Why a queued row may not be integrated (forged, edited), or None."""
    seq, entry, leaf, detail, stamp, subjects = row
    if hashlib.sha256(b"\x00" + entry).digest() != leaf:
        return f"queued entry {seq}: entry does not match its leaf hash (edited)"
    if not hmac.compare_digest(queue_seal(key, leaf), stamp):
        return f"queued entry {seq}: seal does not match (written outside caldicott)"
    claimed = claimed_details(entry)
    actual = None if detail is None else hashlib.sha256(detail).hexdigest()
    if claimed != actual:
        return f"queued entry {seq}: details do not match the hash in the leaf"
    try:
        openings = decode_openings(subjects)
    except ValueError:
        return f"queued entry {seq}: its subjects are damaged"
    if [o.commitment() for o in openings] != claimed_commitments(entry):
        return f"queued entry {seq}: subjects do not match the commitments in the leaf"
    return None


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
    """Record several events, in order, in the caller's transaction."""
    if not events:
        return []
    key = seal_key(settings)
    prepared: list[_Item] = []
    for event_ in events:
        body = event_.details_json()
        openings = event_.openings()  # fresh nonces: no two entries share a commitment
        entry = event_.entry(hashlib.sha256(body).hexdigest() if body else None,
                             [opening.commitment() for opening in openings])
        prepared.append((entry, leaf_hash(entry), body, openings))
    dialect, raw = repository.dbapi(session)
    if dialect != "postgresql":
        size, frontier = repository.sqlite_lock(raw)
        grown = _extend(key, size, frontier, prepared)
        repository.sqlite_write(raw, grown.entries, grown.details, grown.nodes, grown.head,
                                grown.subjects)
        return grown.receipts
    repository.pg_queue(raw, [(e, h, b, queue_seal(key, h), encode_openings(o))
                              for e, h, b, o in prepared])
    if _QUEUED not in session.info:
        bind = session.get_bind()
        session.info[_QUEUED] = (bind if isinstance(bind, Engine) else bind.engine, settings)
    return [LedgerReceipt(None, h, None, None) for _, h, _, _ in prepared]


def integrate(engine: Engine, settings: Settings) -> int:
    """One integration round in its own transaction: every queued entry into the tree.

    Returns how many entries it integrated. Waits for the head lock up to
    ``ROUND_LOCK_TIMEOUT`` (another process's round may hold it). Nothing to do
    on SQLite (appends there never queue). The sequencer runs this after commits;
    call it to have every entry committed so far in the tree now.

    Example:
        >>> integrate(engine, settings)  # doctest: +SKIP
        12
    """
    if engine.dialect.name != "postgresql":
        return 0
    key, pool = seal_key(settings), engine.pool
    with engine.connect() as connection:
        connection.begin()  # so that commit() below commits (the work is on the DBAPI connection)
        count = _drain(connection.connection.driver_connection, key, ROUND_LOCK_TIMEOUT)
        if count:
            connection.commit()
        else:
            connection.rollback()  # at most a row lock taken: nothing to flush
        if engine.pool is not pool:  # disposed meanwhile: close it, don't hand it back
            connection.invalidate()
        return count


def integrate_queue(session: Session, settings: Settings) -> int:
    """In the caller's transaction: integrate every queued entry (PostgreSQL; waits for
    the head lock). Returns how many went in; 0 on SQLite, where nothing queues."""
    dialect, raw = repository.dbapi(session)
    return _drain(raw, seal_key(settings)) if dialect == "postgresql" else 0


def _drain(raw: Any, key: bytes, lock_timeout: str | None = None) -> int:
    """In an open PostgreSQL transaction: take the head lock (waiting, up to
    ``lock_timeout``), then integrate the whole queue, oldest first; returns how
    many entries went in."""
    (size, frontier), queued = repository.pg_lock_and_queued(raw, ROUND_LIMIT, lock_timeout)
    total = 0
    while True:
        taken, items, refused = [], [], []
        for row in queued:
            problem = queued_row_problem(key, row)
            if problem is not None:  # never launder a forged row into the tree: set it aside
                log.error("setting aside %s; run `caldicott ledger verify`", problem)
                refused.append((row, problem))
                continue
            taken.append(row[0])
            items.append((row[1], row[2], row[3], decode_openings(row[5])))
        if refused:  # out of the queue, so the rows behind it are reached and it is not re-read
            repository.pg_set_aside(raw, refused)
        if items:
            grown = _extend(key, size, frontier, items)
            repository.pg_write(raw, grown.entries, grown.details, grown.nodes, grown.head,
                                taken, grown.subjects)
            size, frontier, total = grown.head[0], grown.head[2], total + len(items)
        if len(queued) < ROUND_LIMIT:
            return total
        queued = repository.pg_queued(raw, ROUND_LIMIT)


# entry, leaf hash, details, the openings of its subject commitments
_Item = tuple[bytes, bytes, bytes | None, tuple[SubjectOpening, ...]]


@dataclass(frozen=True, slots=True)
class _Grown:
    """The rows one extension of the tree writes."""

    receipts: list[LedgerReceipt]
    entries: list[EntryRow]
    details: list[tuple[int, bytes]]
    nodes: list[tuple[int, bytes]]
    subjects: list[SubjectRow]
    head: tuple[int, bytes, bytes]


def _extend(key: bytes, size: int, frontier: bytes, items: Sequence[_Item]) -> _Grown:
    """Grow the tree from ``(size, frontier)`` by ``(entry, leaf_hash, detail, openings)``."""
    compact = CompactRange.unpack(size, frontier)
    entries: list[EntryRow] = []
    details: list[tuple[int, bytes]] = []
    nodes: list[tuple[int, bytes]] = []
    subjects: list[SubjectRow] = []
    for entry, leaf, body, openings in items:
        index = compact.size
        nodes.extend((node_key(level, position), value)
                     for level, position, value in compact.append(leaf))
        entries.append((index, entry, leaf, seal(key, index, leaf), *entry_facets(entry)))
        if body:
            details.append((index, body))
        subjects.extend((index, position, o.kind, o.pseudonym, o.nonce)
                        for position, o in enumerate(openings))
    root = compact.root()
    receipts = [LedgerReceipt(row[0], row[2], compact.size, root) for row in entries]
    return _Grown(receipts, entries, details, nodes, subjects,
                  (compact.size, root, compact.pack()))


class _Sequencer:
    """The integration rounds of one engine in this process, run by one thread.

    A commit that queued entries nudges it; the thread waits ``MERGE_WINDOW`` so
    that one round serves every commit of that window, runs the round, and
    repeats while commits keep coming. It ends after ``SEQUENCER_IDLE`` seconds
    without any (the next nudge starts a new one), so an idle engine holds no
    thread. A failed round leaves its entries queued, committed: the next takes
    them.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.Lock()  # guards ``owed`` and ``thread``
        self.rounds = threading.Lock()  # held while a round runs
        self.wanted = threading.Event()  # a commit since the last round began
        # The engine a round is owed for, held only until that round: the registry is
        # keyed weakly by engine, and holding it for good would keep every engine alive.
        self.owed: Engine | None = None
        self.stopped = False
        self.thread: threading.Thread | None = None

    def nudge(self, engine: Engine) -> None:
        with self.lock:
            self.owed = engine
            self.wanted.set()
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, daemon=True,
                                               name="ledger-sequencer")
                self.thread.start()

    def _run(self) -> None:
        while not self.stopped:
            if not self.wanted.wait(SEQUENCER_IDLE):
                with self.lock:
                    if not self.wanted.is_set():  # a nudge after this starts a new thread
                        self.thread = None
                        return
            time.sleep(MERGE_WINDOW)
            self._round()

    def _round(self) -> None:
        with self.rounds:
            with self.lock:
                engine, self.owed = self.owed, None
                self.wanted.clear()
            if self.stopped or engine is None:
                return
            try:
                integrate(engine, self.settings)
            except Exception:  # the entries are committed in the queue: the next round takes them
                log.exception("ledger integration round failed; entries stay queued")

    def finish(self) -> None:
        """Wait for a running round, then run the one still owed, if any."""
        self._round()

    def stop(self) -> None:
        """Run the round still owed, then end the thread: no round after this."""
        self.finish()
        with self.rounds:
            self.stopped = True
        self.wanted.set()  # wake the thread so that it ends


_SEQUENCERS: weakref.WeakKeyDictionary[Engine, _Sequencer] = weakref.WeakKeyDictionary()
_SEQUENCERS_LOCK = threading.Lock()


def _sequencer(engine: Engine, settings: Settings) -> _Sequencer:
    with _SEQUENCERS_LOCK:
        sequencer = _SEQUENCERS.get(engine)
        if sequencer is None:
            sequencer = _SEQUENCERS[engine] = _Sequencer(settings)
        return sequencer


def finish_rounds(engine: Engine) -> None:
    """Run the integration round still owed for ``engine``'s commits in this process,
    if any, and wait for it (before the engine is disposed)."""
    with _SEQUENCERS_LOCK:
        sequencer = _SEQUENCERS.get(engine)
    if sequencer is not None:
        sequencer.finish()


@event.listens_for(Engine, "engine_disposed")
def _stop_sequencer(engine: Engine) -> None:
    """An engine being disposed gets its owed round, then no more; the connection
    that round used is closed with the rest of the pool."""
    with _SEQUENCERS_LOCK:
        sequencer = _SEQUENCERS.pop(engine, None)
    if sequencer is not None:
        sequencer.stop()
        engine.pool.dispose()


@atexit.register
def _finish_sequencers() -> None:
    """A command that appended and exits integrates what it queued before it goes."""
    with _SEQUENCERS_LOCK:
        sequencers = list(_SEQUENCERS.values())
    for sequencer in sequencers:
        sequencer.finish()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if _QUEUED in session.info and not session.in_nested_transaction():
        session.info[_COMMITTED] = True


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """After the outermost transaction ends: if it committed queued entries, have the
    sequencer integrate them (without waiting for it)."""
    if transaction.parent is not None or _QUEUED not in session.info:
        return
    engine, settings = session.info.pop(_QUEUED)
    if session.info.pop(_COMMITTED, False):
        _sequencer(engine, settings).nudge(engine)


def tree_head(session: Session) -> tuple[int, bytes]:
    """The current ``(tree_size, root)``."""
    size, root, _ = repository.read_head(session)
    return size, root


def _proof_nodes(session: Session, size: int, ranges: Sequence[Range],
                 extra: set[NodeId]) -> dict[NodeId, bytes]:
    """Every hash a proof in the tree of ``size`` needs, and the head, in one round trip."""
    if size > MAX_TREE_SIZE:  # its node keys would not fit a BIGINT: no such tree here
        raise Unprocessable(f"tree size {size} is beyond the current size "
                            f"{tree_head(session)[0]}")
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
    integrate_queue(session, settings)  # sign everything committed
    size, root = tree_head(session)
    note = repository.checkpoint_at(session, size)
    if note is None:
        key = load_or_create_key(settings.data_dir)
        note = Checkpoint(origin_for(key.public_key()), size, root).sign(key)
        repository.save_checkpoint(session, size, root, note)
        note = repository.checkpoint_at(session, size) or note
    return SignedCheckpoint(size, root, note)
