"""Every query the ledger makes.

An append is on the hot path of every disclosure, so its statements are plain
SQL strings run on the session's own DBAPI connection (in the session's
transaction), skipping SQLAlchemy's statement compilation and result objects:
a one-row append costs the driver a few microseconds per statement, and the
drivers cache the prepared statements (sqlite3's statement cache, psycopg's
automatic prepare). On PostgreSQL the writes of an append or an integration
round are one statement (data-modifying CTEs over arrays): one round trip.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, literal, select, text, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from caldicott.db import utcnow
from caldicott.ledger.core.merkle import EMPTY_ROOT, NodeId
from caldicott.ledger.models import (
    LedgerCheckpoint,
    LedgerDetail,
    LedgerEntry,
    LedgerHead,
    LedgerNode,
    LedgerQuarantine,
    LedgerQueue,
    LedgerSubject,
)
from caldicott.orgs.models import OrganisationRow
from caldicott.requests.models import TraceRequestRow

HEAD_ID = 1
HEAD = cast(Table, LedgerHead.__table__)
ENTRY = cast(Table, LedgerEntry.__table__)
NODE = cast(Table, LedgerNode.__table__)
STREAM_BATCH = 5000


def node_key(level: int, position: int) -> int:
    """Storage key of a complete subtree: its last leaf times 64, plus its level."""
    return ((((position + 1) << level) - 1) << 6) | level


_READ_HEAD = select(HEAD.c.tree_size, HEAD.c.root, HEAD.c.frontier).where(HEAD.c.id == HEAD_ID)
_LEAVES = (select(ENTRY.c.index, ENTRY.c.leaf_hash)
           .where(ENTRY.c.index.in_(bindparam("wanted", expanding=True))))
_NODES = select(NODE.c.key, NODE.c.hash).where(NODE.c.key.in_(bindparam("wanted", expanding=True)))
# A proof's leaves, subtrees and the head in one statement: one round trip to the server.
_PROOF_NODES = union_all(
    select(literal(0).label("kind"), ENTRY.c.index.label("key"), ENTRY.c.leaf_hash.label("hash"))
    .where(ENTRY.c.index.in_(bindparam("leaves", expanding=True))),
    select(literal(1), NODE.c.key, NODE.c.hash)
    .where(NODE.c.key.in_(bindparam("keys", expanding=True))),
    select(literal(2), HEAD.c.tree_size, HEAD.c.root).where(HEAD.c.id == HEAD_ID))


# --- the append path: raw DBAPI statements -----------------------------------------

# SQLite: a no-op UPDATE takes the database's write lock before anything is read.
_SQLITE_LOCK = ('UPDATE ledger_head SET tree_size = tree_size WHERE id = 1 '
                'RETURNING tree_size, frontier')
_SQLITE_ENTRY = ('INSERT INTO ledger_entry ("index", entry, leaf_hash, seal, type, recorded, '
                 'agreement) VALUES (?, ?, ?, ?, ?, ?, ?)')
_SQLITE_DETAIL = 'INSERT INTO ledger_detail ("index", body) VALUES (?, ?)'
_SQLITE_NODE = "INSERT INTO ledger_node (key, hash) VALUES (?, ?)"
_SQLITE_SUBJECT = ('INSERT INTO ledger_subject ("index", position, kind, pseudonym, nonce) '
                   "VALUES (?, ?, ?, ?, ?)")
_SQLITE_HEAD = "UPDATE ledger_head SET tree_size = ?, root = ?, frontier = ? WHERE id = 1"
_SQLITE_SEED = ("INSERT INTO ledger_head (id, tree_size, root, frontier) "
                "VALUES (1, 0, ?, x'') ON CONFLICT DO NOTHING")

# PostgreSQL. Appends queue (no lock); a round locks the head and integrates the queue.
_PG_LOCK = "SELECT tree_size, frontier FROM ledger_head WHERE id = 1 FOR UPDATE"
_PG_SEED = ("INSERT INTO ledger_head (id, tree_size, root, frontier) "
            "VALUES (1, 0, %s, '') ON CONFLICT DO NOTHING")
_PG_QUEUE = ("INSERT INTO ledger_queue (entry, leaf_hash, detail, seal, subjects) "
             "SELECT * FROM unnest(%s::bytea[], %s::bytea[], %s::bytea[], %s::bytea[], "
             "%s::bytea[])")
_PG_QUEUE_ONE = ("INSERT INTO ledger_queue (entry, leaf_hash, detail, seal, subjects) "
                 "VALUES (%s, %s, %s, %s, %s)")
_PG_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', %s, true)"
_PG_QUEUED = ("SELECT seq, entry, leaf_hash, detail, seal, subjects FROM ledger_queue "
              "ORDER BY seq LIMIT %s")
# A round moves a queued row it refuses (forged, damaged) here, so it no longer heads
# the queue: kept as evidence, named by verify.
_PG_SET_ASIDE = """
WITH x AS (INSERT INTO ledger_quarantine
           (seq, entry, leaf_hash, detail, seal, subjects, problem, set_aside_at)
           SELECT *, now() FROM unnest(%(seq)s::bigint[], %(e)s::bytea[], %(l)s::bytea[],
                                      %(d)s::bytea[], %(s)s::bytea[], %(o)s::bytea[],
                                      %(p)s::text[]))
DELETE FROM ledger_queue WHERE seq = ANY(%(seq)s::bigint[])"""
_PG_WRITE = """
WITH e AS (INSERT INTO ledger_entry ("index", entry, leaf_hash, seal, type, recorded, agreement)
           SELECT * FROM unnest(%(i)s::bigint[], %(e)s::bytea[], %(l)s::bytea[], %(s)s::bytea[],
                                %(t)s::text[], %(r)s::bigint[], %(a)s::text[])),
     d AS (INSERT INTO ledger_detail ("index", body)
           SELECT * FROM unnest(%(di)s::bigint[], %(db)s::bytea[])),
     n AS (INSERT INTO ledger_node (key, hash)
           SELECT * FROM unnest(%(nk)s::bigint[], %(nh)s::bytea[])),
     o AS (INSERT INTO ledger_subject ("index", position, kind, pseudonym, nonce)
           SELECT * FROM unnest(%(oi)s::bigint[], %(op)s::int[], %(ok)s::text[],
                                %(od)s::bytea[], %(on)s::bytea[])),
     q AS (DELETE FROM ledger_queue WHERE seq = ANY(%(q)s::bigint[]))
UPDATE ledger_head SET tree_size = %(size)s, root = %(root)s, frontier = %(frontier)s
WHERE id = 1"""

# seq, entry, leaf, detail, seal, subjects (the openings of its commitments)
QueuedRow = tuple[int, bytes, bytes, bytes | None, bytes, bytes | None]
# index, position, kind, pseudonym, nonce
SubjectRow = tuple[int, int, str, bytes, bytes]
# index, entry, leaf hash, seal, and the explorer's facets: type, recorded, agreement
EntryRow = tuple[int, bytes, bytes, bytes, str | None, int | None, str | None]


def queued_row(row: Any) -> QueuedRow:
    """A ``ledger_queue`` row as plain Python values (drivers hand back memoryviews)."""
    seq, entry, leaf, detail, stamp, subjects = row
    return (int(seq), bytes(entry), bytes(leaf), None if detail is None else bytes(detail),
            bytes(stamp), None if subjects is None else bytes(subjects))


def dbapi(session: Session) -> tuple[str, Any]:
    """The session's dialect name and its DBAPI connection, in the session's transaction."""
    connection = session.connection()
    return connection.dialect.name, connection.connection.driver_connection


def sqlite_lock(raw: Any) -> tuple[int, bytes]:
    """Take SQLite's write lock and read ``(tree_size, frontier)``."""
    cursor = raw.execute(_SQLITE_LOCK)
    row = cursor.fetchone()
    cursor.close()
    if row is None:  # a database made without the migration's seed row
        raw.execute(_SQLITE_SEED, (EMPTY_ROOT,))
        return 0, b""
    return int(row[0]), bytes(row[1])


def sqlite_write(raw: Any, entries: Sequence[EntryRow],
                 details: Sequence[tuple[int, bytes]], nodes: Sequence[tuple[int, bytes]],
                 head: tuple[int, bytes, bytes], subjects: Sequence[SubjectRow] = ()) -> None:
    """Insert entry, detail, subject and node rows and write the head (the write lock
    is held)."""
    if len(entries) == 1:
        raw.execute(_SQLITE_ENTRY, entries[0])
    else:
        raw.executemany(_SQLITE_ENTRY, entries)
    if details:
        raw.executemany(_SQLITE_DETAIL, details)
    if subjects:
        raw.executemany(_SQLITE_SUBJECT, subjects)
    if nodes:
        raw.executemany(_SQLITE_NODE, nodes)
    raw.execute(_SQLITE_HEAD, head)


def pg_lock_and_queued(raw: Any, limit: int, lock_timeout: str | None = None) -> tuple[
        tuple[int, bytes], list[QueuedRow]]:
    """Lock the head (waiting, up to ``lock_timeout`` if given), then read the oldest
    queued entries: one round trip (pipelined; the server runs the read after the
    lock is granted, in a newer snapshot). Seeds the head on a database made
    without the migration's seed row."""
    with raw.pipeline():
        if lock_timeout is not None:
            raw.execute(_PG_LOCK_TIMEOUT, (lock_timeout,))
        lock = raw.cursor()
        lock.execute(_PG_LOCK)
        queued = raw.cursor(binary=True)
        queued.execute(_PG_QUEUED, (limit,))
    row = lock.fetchone()
    rows = [queued_row(row) for row in queued.fetchall()]
    lock.close()
    queued.close()
    if row is None:
        raw.execute(_PG_SEED, (EMPTY_ROOT,))
        return pg_lock_and_queued(raw, limit)
    return (int(row[0]), bytes(row[1])), rows


def pg_queued(raw: Any, limit: int) -> list[QueuedRow]:
    """The oldest queued entries (read after the head lock is held)."""
    with raw.cursor(binary=True) as cursor:
        cursor.execute(_PG_QUEUED, (limit,))
        return [queued_row(row) for row in cursor.fetchall()]


def pg_queue(raw: Any,
             rows: Sequence[tuple[bytes, bytes, bytes | None, bytes, bytes | None]]) -> None:
    """Queue ``(entry, leaf_hash, detail, seal, subjects)`` rows (no lock taken)."""
    with raw.cursor() as cursor:
        if len(rows) == 1:  # the usual case: one append per transaction
            cursor.execute(_PG_QUEUE_ONE, rows[0], binary=True)
        else:
            cursor.execute(_PG_QUEUE, [list(column) for column in zip(*rows, strict=True)],
                           binary=True)


def pg_write(raw: Any, entries: Sequence[EntryRow],
             details: Sequence[tuple[int, bytes]], nodes: Sequence[tuple[int, bytes]],
             head: tuple[int, bytes, bytes], integrated: Sequence[int],
             subjects: Sequence[SubjectRow] = ()) -> None:
    """Insert entries, details, subjects and nodes, drop integrated queue rows, write the
    head: one statement, one round trip (the head lock is held)."""
    i, e, h, s, t, r, a = (list(column) for column in zip(*entries, strict=True))
    di = [index for index, _ in details]
    nk = [key for key, _ in nodes]
    oi, op, ok, od, on = (list(column) for column in zip(*subjects, strict=True)) \
        if subjects else ([], [], [], [], [])
    params = {"i": i, "e": e, "l": h, "s": s, "t": t, "r": r, "a": a,
              "di": di, "db": [b for _, b in details],
              "nk": nk, "nh": [value for _, value in nodes], "q": list(integrated),
              "oi": oi, "op": op, "ok": ok, "od": od, "on": on,
              "size": head[0], "root": head[1], "frontier": head[2]}
    with raw.cursor() as cursor:
        cursor.execute(_PG_WRITE, params, binary=True)


def pg_set_aside(raw: Any, rows: Sequence[tuple[QueuedRow, str]]) -> None:
    """Move refused queued rows, each with why, to ``ledger_quarantine`` (head lock held)."""
    seq, e, h, d, s, o = (list(column) for column in zip(*(row for row, _ in rows),
                                                         strict=True))
    params = {"seq": seq, "e": e, "l": h, "d": d, "s": s, "o": o,
              "p": [problem for _, problem in rows]}
    with raw.cursor() as cursor:
        cursor.execute(_PG_SET_ASIDE, params, binary=True)


def read_head(session: Session) -> tuple[int, bytes, bytes]:
    """``(tree_size, root, frontier)`` without locking."""
    row = session.connection().execute(_READ_HEAD).one_or_none()
    if row is None:
        return 0, EMPTY_ROOT, b""
    return int(row.tree_size), bytes(row.root), bytes(row.frontier)


def fetch_nodes(session: Session, wanted: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """Hashes of the named complete subtrees: leaves from entries, the rest from nodes."""
    wanted = set(wanted)
    leaves = [pos for level, pos in wanted if level == 0]
    keys = {node_key(level, pos): (level, pos) for level, pos in wanted if level > 0}
    found: dict[NodeId, bytes] = {}
    connection = session.connection()
    if leaves:
        rows = connection.execute(_LEAVES, {"wanted": leaves})
        found.update({(0, int(i)): bytes(h) for i, h in rows})
    if keys:
        rows = connection.execute(_NODES, {"wanted": list(keys)})
        found.update({keys[int(k)]: bytes(h) for k, h in rows})
    return found


def fetch_nodes_with_size(session: Session,
                          wanted: Iterable[NodeId]) -> tuple[int, dict[NodeId, bytes]]:
    """The current tree size and the named subtrees' hashes, in one statement."""
    wanted = set(wanted)
    leaves = [pos for level, pos in wanted if level == 0]
    keys = {node_key(level, pos): (level, pos) for level, pos in wanted if level > 0}
    size, found = 0, {}
    rows = session.connection().execute(_PROOF_NODES, {"leaves": leaves, "keys": list(keys)})
    for kind, key, value in rows:
        if kind == 0:
            found[(0, int(key))] = bytes(value)
        elif kind == 1:
            found[keys[int(key)]] = bytes(value)
        else:
            size = int(key)
    return size, found


def entries_between(session: Session, start: int, end: int) -> list[tuple[int, bytes, bytes]]:
    """Entries ``(index, entry, leaf_hash)`` with ``start <= index < end``, in order."""
    rows = session.execute(
        select(LedgerEntry.index, LedgerEntry.entry, LedgerEntry.leaf_hash)
        .where(LedgerEntry.index >= start, LedgerEntry.index < end)
        .order_by(LedgerEntry.index))
    return [(int(i), bytes(e), bytes(h)) for i, e, h in rows]


def detail_at(session: Session, index: int) -> bytes | None:
    value = session.scalar(select(LedgerDetail.body).where(LedgerDetail.index == index))
    return None if value is None else bytes(value)


def _stream(session: Session, statement: Any) -> Iterator[Any]:
    """Rows as plain DBAPI tuples, in batches, on the session's connection and transaction.

    verify reads every row of the log; skipping SQLAlchemy's row objects here
    halves its time. PostgreSQL gets a named (server-side) cursor so a million
    rows are never held in memory at once.
    """
    connection = session.connection()
    sql = str(statement.compile(dialect=connection.dialect))
    raw = connection.connection.dbapi_connection
    assert raw is not None
    options: dict[str, Any] = {}
    if connection.dialect.name == "postgresql":
        cursor = raw.cursor(name=f"ledger_stream_{uuid.uuid4().hex[:12]}")
        options["binary"] = True  # bytea as raw bytes, not hex text to encode and parse
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql, **options)
        while batch := cursor.fetchmany(STREAM_BATCH):
            yield from batch
    finally:
        cursor.close()


def stream_entries(session: Session) -> Iterator[tuple[int, bytes, bytes, bytes]]:
    """Every entry ``(index, entry, leaf_hash, seal)`` in index order, streamed."""
    return _stream(session, select(LedgerEntry.index, LedgerEntry.entry, LedgerEntry.leaf_hash,
                                   LedgerEntry.seal).order_by(LedgerEntry.index))


def stream_nodes(session: Session) -> Iterator[tuple[int, bytes]]:
    """Every stored node ``(key, hash)`` in creation order, streamed."""
    return _stream(session, select(LedgerNode.key, LedgerNode.hash).order_by(LedgerNode.key))


def stream_details(session: Session) -> Iterator[tuple[int, bytes]]:
    """Every detail ``(index, body)`` in index order, streamed."""
    return _stream(session, select(LedgerDetail.index, LedgerDetail.body)
                   .order_by(LedgerDetail.index))


def stream_queue(session: Session) -> Iterator[Any]:
    """Every queued entry ``(seq, entry, leaf_hash, detail, seal, subjects)`` in queue
    order."""
    return _stream(session, select(LedgerQueue.seq, LedgerQueue.entry, LedgerQueue.leaf_hash,
                                   LedgerQueue.detail, LedgerQueue.seal, LedgerQueue.subjects)
                   .order_by(LedgerQueue.seq))


def stream_subjects(session: Session) -> Iterator[tuple[int, int, str, bytes, bytes]]:
    """Every subject opening ``(index, position, kind, pseudonym, nonce)``, in leaf order."""
    return _stream(session, select(LedgerSubject.index, LedgerSubject.position,
                                   LedgerSubject.kind, LedgerSubject.pseudonym,
                                   LedgerSubject.nonce)
                   .order_by(LedgerSubject.index, LedgerSubject.position))


def quarantined(session: Session) -> list[tuple[int, str]]:
    """Every queued row a round set aside, ``(seq, problem)``, in queue order."""
    rows = session.execute(select(LedgerQuarantine.seq, LedgerQuarantine.problem)
                           .order_by(LedgerQuarantine.seq))
    return [(int(seq), str(problem)) for seq, problem in rows]


def entries_with_pseudonym(session: Session, kind: str,
                           pseudonym: bytes) -> list[tuple[int, bytes, bytes | None]]:
    """Through the private keyed index: ``(index, entry, details)`` of every leaf with a
    subject of this pseudonym, in log order."""
    rows = session.execute(
        select(LedgerEntry.index, LedgerEntry.entry, LedgerDetail.body)
        .join(LedgerSubject, LedgerSubject.index == LedgerEntry.index)
        .outerjoin(LedgerDetail, LedgerDetail.index == LedgerEntry.index)
        .where(LedgerSubject.pseudonym == pseudonym, LedgerSubject.kind == kind)
        .distinct().order_by(LedgerEntry.index))
    return [(int(i), bytes(e), None if d is None else bytes(d)) for i, e, d in rows]


def request_recipients(session: Session, request_ids: Sequence[int]) -> dict[int, str]:
    """The code of the organisation that made each trace request (its recipient)."""
    if not request_ids:
        return {}
    rows = session.execute(select(TraceRequestRow.id, OrganisationRow.code)
                           .join(OrganisationRow,
                                 OrganisationRow.id == TraceRequestRow.organisation_id)
                           .where(TraceRequestRow.id.in_(request_ids)))
    return {int(i): str(code) for i, code in rows}


def save_checkpoint(session: Session, size: int, root: bytes, note: str) -> None:
    """Store a signed checkpoint unless one for this size exists (concurrent signers agree)."""
    values = {"tree_size": size, "root": root, "note": note, "created_at": utcnow()}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(LedgerCheckpoint).values(**values)
                    .on_conflict_do_nothing(index_elements=["tree_size"]))


def checkpoint_at(session: Session, size: int) -> str | None:
    return session.scalar(select(LedgerCheckpoint.note).where(LedgerCheckpoint.tree_size == size))


def all_checkpoints(session: Session) -> list[Row[Any]]:
    """Every stored checkpoint ``(tree_size, root, note)``, smallest first."""
    return list(session.execute(select(LedgerCheckpoint.tree_size, LedgerCheckpoint.root,
                                       LedgerCheckpoint.note).order_by(LedgerCheckpoint.tree_size)))


_EXPLORER_COLUMNS = (LedgerEntry.index, LedgerEntry.entry, LedgerEntry.leaf_hash)


def index_bounds(session: Session, low: int | None, high: int | None) -> tuple[int, int] | None:
    """The first and last leaf index of the entries recorded in ``[low, high)`` (seconds),
    or None if there are none: an index-only scan of ``ix_ledger_entry_recorded_index``.

    Entries are appended in about the order they were recorded, so the entries of a
    day or a month lie between these two indexes: a page of them is then a short walk
    back from the upper one, instead of a scan of every entry in the period (the
    planners, unaware of the correlation, would otherwise sort the whole period or
    walk back from the newest entry)."""
    conditions = []
    if low is not None:
        conditions.append(LedgerEntry.recorded >= low)
    if high is not None:
        conditions.append(LedgerEntry.recorded < high)
    # OFFSET 0 fences the subquery: without it PostgreSQL turns min()/max() into walks of
    # the primary key that filter on the time, half a million rows for a day mid-log.
    period = select(LedgerEntry.index.label("at")).where(*conditions).offset(0).subquery()
    first, last = session.execute(select(func.min(period.c.at), func.max(period.c.at))).one()
    return None if first is None else (int(first), int(last))


def explore(session: Session, conditions: Sequence[Any], before: int | None,
            limit: int, since: int | None = None) -> list[tuple[int, bytes, bytes]]:
    """Entries ``(index, entry, leaf_hash)`` meeting ``conditions``, newest first, below
    ``before`` and from ``since`` (keyset on the leaf index: each filter's index ends in
    it). One upper bound only: given two, SQLite walks back from the looser one."""
    query = select(*_EXPLORER_COLUMNS).where(*conditions)
    if before is not None:
        query = query.where(LedgerEntry.index < before)
    if since is not None:
        query = query.where(LedgerEntry.index >= since)
    rows = session.execute(query.order_by(LedgerEntry.index.desc()).limit(limit))
    return [(int(i), bytes(e), bytes(h)) for i, e, h in rows]


def distinct_values(session: Session, column: Any) -> list[str]:
    """The distinct values of an indexed column, by skipping through its index (a
    recursive query: one index probe per value, not a scan of a million rows)."""
    name = column.key
    sql = (f"WITH RECURSIVE v(x) AS (SELECT min({name}) FROM ledger_entry UNION ALL "
           f"SELECT (SELECT min({name}) FROM ledger_entry WHERE {name} > v.x) FROM v "
           "WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL")
    return [str(x) for x in session.scalars(text(sql))]


def entry_at(session: Session, index: int) -> tuple[bytes, bytes] | None:
    row = session.execute(select(LedgerEntry.entry, LedgerEntry.leaf_hash)
                          .where(LedgerEntry.index == index)).one_or_none()
    return None if row is None else (bytes(row[0]), bytes(row[1]))


def latest_checkpoint(session: Session) -> tuple[int, bytes, str] | None:
    """The largest stored checkpoint ``(tree_size, root, note)``, or None."""
    row = session.execute(select(LedgerCheckpoint.tree_size, LedgerCheckpoint.root,
                                 LedgerCheckpoint.note)
                          .order_by(LedgerCheckpoint.tree_size.desc()).limit(1)).one_or_none()
    return None if row is None else (int(row[0]), bytes(row[1]), str(row[2]))
