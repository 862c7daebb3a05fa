"""Tables of the ledger.

``ledger_entry`` is the log itself (leaf ``index`` dense from 0); ``ledger_node``
keeps the hash of every complete subtree above the leaves, so a proof is a few
primary-key reads at any size; ``ledger_head`` is the one row appends lock and
carries the tree's right edge; ``ledger_detail`` holds event details beside the
log, bound to their leaf by the SHA-256 the leaf carries; ``ledger_checkpoint``
keeps every signed checkpoint so ``verify`` can check them all; ``ledger_queue``
holds entries committed by transactions that found the head locked, until the
next integration round moves them into the tree (PostgreSQL only; see
``caldicott.ledger.service``); ``ledger_quarantine`` keeps queued rows a round
found forged or damaged, set aside for ``verify`` to name.

``ledger_subject`` is private: the opening (pseudonym and nonce) of each
subject commitment a leaf holds, and the keyed index that finds a person's
entries. The public routes never read it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from caldicott.db import Base, UTCDateTime, utcnow

# INTEGER PRIMARY KEY is SQLite's rowid: no separate index to write on every append.
LeafIndex = BigInteger().with_variant(Integer(), "sqlite")


class LedgerHead(Base):
    """The tree's current size, root and right edge; one row, locked by every append."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    frontier: Mapped[bytes] = mapped_column(LargeBinary)  # CompactRange.pack()


class LedgerEntry(Base):
    """One leaf: the canonical JSON entry, its RFC 9162 leaf hash, and a keyed seal.

    The seal (HMAC of index and leaf hash under a key derived from the log's
    signing key, which lives in the data folder, not the database) lets
    ``verify`` name the exact row someone inserted, moved or rewrote in the
    database, which hashes alone cannot pin down.
    """

    __tablename__ = "ledger_entry"
    # The explorer pages newest first within a filter: each index ends in the leaf index.
    __table_args__ = (
        Index("ix_ledger_entry_type_index", "type", "index"),
        Index("ix_ledger_entry_agreement_index", "agreement", "index"),
        Index("ix_ledger_entry_recorded_index", "recorded", "index"),
    )

    index: Mapped[int] = mapped_column(LeafIndex, primary_key=True, autoincrement=False)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    seal: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Copies of what the entry says, for the explorer's filters only (``entry_facets``);
    # what a page shows is read from ``entry`` itself, which the tree binds.
    type: Mapped[str | None] = mapped_column(String(64))
    recorded: Mapped[int | None] = mapped_column(BigInteger)  # seconds since 1970, UTC
    agreement: Mapped[str | None] = mapped_column(String(64))


class LedgerNode(Base):
    """A complete subtree's hash, keyed ``last_leaf * 64 + level`` (creation order)."""

    __tablename__ = "ledger_node"

    key: Mapped[int] = mapped_column(LeafIndex, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerDetail(Base):
    """An event's details, beside the log; the leaf holds their SHA-256."""

    __tablename__ = "ledger_detail"

    index: Mapped[int] = mapped_column(
        LeafIndex, ForeignKey("ledger_entry.index"), primary_key=True, autoincrement=False)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerSubject(Base):
    """The opening of one subject commitment of one leaf, beside the log (private).

    The leaf holds SHA-256(tag, kind, pseudonym, nonce); this row holds the
    pseudonym (an HMAC of the identifier under the key in the data folder) and
    the nonce, so ``verify`` can recompute the commitment and the index on
    ``pseudonym`` finds every entry about one person. No foreign key: the
    commitment binds a row to its leaf more tightly than one could, and
    ``verify`` names a row whose leaf is missing.
    """

    __tablename__ = "ledger_subject"

    index: Mapped[int] = mapped_column(LeafIndex, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    pseudonym: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(16))


class LedgerCheckpoint(Base):
    """A signed checkpoint (C2SP signed note) the log has issued."""

    __tablename__ = "ledger_checkpoint"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerQueue(Base):
    """An entry committed with its change but not yet in the tree (no index yet).

    Written by every append on PostgreSQL, in the caller's transaction; an
    integration round, milliseconds after the commit, gives it the next index and
    moves it into ``ledger_entry`` and ``ledger_detail``. Its hash and
    content are fixed when it is queued; the seal (HMAC of the leaf hash under
    the log's seal key) stops a row forged in the database from being integrated.
    ``seq`` orders the queue: an entry queued after another committed is
    integrated after it.
    """

    __tablename__ = "ledger_queue"

    seq: Mapped[int] = mapped_column(LeafIndex, primary_key=True, autoincrement=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    detail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    seal: Mapped[bytes] = mapped_column(LargeBinary(32))
    subjects: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # openings


class LedgerQuarantine(Base):
    """A queued row an integration round refused (forged or damaged), set aside.

    Kept, not deleted: it is evidence, and ``verify`` names it until someone
    deals with it. Moving it out of the queue stops it blocking the rows behind.
    """

    __tablename__ = "ledger_quarantine"

    seq: Mapped[int] = mapped_column(LeafIndex, primary_key=True, autoincrement=False)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)
    detail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    seal: Mapped[bytes] = mapped_column(LargeBinary)
    subjects: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    problem: Mapped[str] = mapped_column(Text)
    set_aside_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
