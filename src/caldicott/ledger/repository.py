"""Every query the ledger makes.

An append is on the hot path of every disclosure, so its statements are built
once (module constants with bound parameters) and run on the session's own
connection, in the session's transaction, skipping the ORM layer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, literal, select, union_all, update
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
)

HEAD_ID = 1
HEAD = cast(Table, LedgerHead.__table__)
ENTRY = cast(Table, LedgerEntry.__table__)
DETAIL = cast(Table, LedgerDetail.__table__)
NODE = cast(Table, LedgerNode.__table__)
STREAM_BATCH = 5000


def node_key(level: int, position: int) -> int:
    """Storage key of a complete subtree: its last leaf times 64, plus its level."""
    return ((((position + 1) << level) - 1) << 6) | level


# A no-op UPDATE ... RETURNING is a row lock on PostgreSQL and the write lock on
# SQLite, taken before anything is read, so concurrent appenders queue instead of
# one failing with a stale snapshot.
_LOCK_HEAD = (update(HEAD).where(HEAD.c.id == HEAD_ID).values(tree_size=HEAD.c.tree_size)
              .returning(HEAD.c.tree_size, HEAD.c.frontier))
_WRITE_HEAD = (update(HEAD).where(HEAD.c.id == HEAD_ID)
               .values(tree_size=bindparam("size"), root=bindparam("root"),
                       frontier=bindparam("frontier")))
_INSERT_ENTRY, _INSERT_DETAIL, _INSERT_NODE = ENTRY.insert(), DETAIL.insert(), NODE.insert()
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


def lock_head(session: Session) -> tuple[int, bytes]:
    """Take the append lock and read ``(tree_size, frontier)``."""
    connection = session.connection()
    row = connection.execute(_LOCK_HEAD).one_or_none()
    if row is None:  # a database made without the migration's seed row
        connection.execute(HEAD.insert().values(id=HEAD_ID, tree_size=0, root=EMPTY_ROOT,
                                                frontier=b""))
        return 0, b""
    return int(row.tree_size), bytes(row.frontier)


def read_head(session: Session) -> tuple[int, bytes, bytes]:
    """``(tree_size, root, frontier)`` without locking."""
    row = session.connection().execute(_READ_HEAD).one_or_none()
    if row is None:
        return 0, EMPTY_ROOT, b""
    return int(row.tree_size), bytes(row.root), bytes(row.frontier)


def write_head(session: Session, size: int, root: bytes, frontier: bytes) -> None:
    session.connection().execute(_WRITE_HEAD, {"size": size, "root": root,
                                               "frontier": frontier})


def insert_leaves(session: Session, entries: Sequence[Mapping[str, Any]],
                  details: Sequence[Mapping[str, Any]],
                  nodes: Sequence[Mapping[str, Any]]) -> None:
    """Insert entry rows, detail rows and node rows (executemany where several)."""
    connection = session.connection()
    connection.execute(_INSERT_ENTRY, list(entries))
    if details:
        connection.execute(_INSERT_DETAIL, list(details))
    if nodes:
        connection.execute(_INSERT_NODE, list(nodes))


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


def leaf_hash_at(session: Session, index: int) -> bytes | None:
    value = session.scalar(select(LedgerEntry.leaf_hash).where(LedgerEntry.index == index))
    return None if value is None else bytes(value)


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


def count_entries(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


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
