"""Stored decisions: enough to decide each one again under another version.

A row keeps the request's facts (the policy inputs, no personal identifiers),
the date it was decided as of, the agreement version and its content hash, and
the outcome. ``caldicott agreement replay`` re-decides them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caldicott.db import Base, UTCDateTime, utcnow

OUTCOMES = ("permit", "deny", "queue")
CHANNELS = ("trace", "status_check", "debt_referral")


class AgreementDecisionRow(Base):
    __tablename__ = "agreement_decision"
    __table_args__ = (
        CheckConstraint(
            "outcome IN (" + ", ".join(f"'{o}'" for o in OUTCOMES) + ")", name="outcome"
        ),
        CheckConstraint(
            "channel IN (" + ", ".join(f"'{c}'" for c in CHANNELS) + ")", name="channel"
        ),
        Index("ix_agreement_decision_agreement_id", "agreement", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    as_of: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    agreement: Mapped[str] = mapped_column(String(64))
    version: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(8))
    request_facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    released_fields: Mapped[list[str]] = mapped_column(JSON)
    unmet: Mapped[list[list[str]]] = mapped_column(JSON)  # [clause id, clause text] pairs
    # Which request the decision was for ("trace-request/42"): a request decided again
    # (queued, then decided; re-decided once the patient is known) counts once in a replay.
    request_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    purpose: Mapped[str | None] = mapped_column(String(64))  # the purpose code, not the category


class AgreementActivationRow(Base):
    """An administrator put one version of a draft pack in force, naming exactly what.

    A draft (a pack in ``<data_dir>/agreements``) is in force only while its file's
    SHA-256 and the version's content hash are those an activation recorded: an edit
    after activation takes the draft out of force until it is activated again.
    """

    __tablename__ = "agreement_activation"
    __table_args__ = (
        UniqueConstraint("agreement", "version", "content_hash", "file_sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    agreement: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    file_sha256: Mapped[str] = mapped_column(String(64))
