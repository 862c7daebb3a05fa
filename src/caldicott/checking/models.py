"""Checking tables: who signed the memorandum and when, every check, every on-site
officer's encounter and the patients the officer saw."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caldicott.db import Base, UTCDateTime, utcnow

CHECK_STATES = ("pending", "answered", "timed_out", "not_sent", "failed", "refused")


class MemorandumRow(Base):
    """An organisation's own memorandum with the Home Office: from ``signed_on`` it may
    use the checking service (while the agreement is in force)."""

    __tablename__ = "checking_memorandum"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), unique=True)
    signed_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatusCheckRow(Base):
    """One check. The person's details stay here, in the asking organisation's keeping;
    only ``fields_sent`` left, with the organisation and the time (``disclosed_at``)."""

    __tablename__ = "status_check"
    __table_args__ = (
        CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in CHECK_STATES) + ")",
                        name="state"),
        UniqueConstraint("organisation_id", "client_key", name="uq_status_check_client_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)  # the key sent to the Home Office
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    client_key: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of Idempotency-Key
    requested_by: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(64))
    agreement: Mapped[str] = mapped_column(String(64))
    agreement_version: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    fields_sent: Mapped[list[str]] = mapped_column(JSON)
    nhs_number: Mapped[str | None] = mapped_column(String(10))  # never sent
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    nationality: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    immigration_status: Mapped[str | None] = mapped_column(String(48))
    evidence: Mapped[str | None] = mapped_column(String(300))
    consequence: Mapped[str | None] = mapped_column(String(16))
    ground: Mapped[str | None] = mapped_column(String(300))
    failure: Mapped[str | None] = mapped_column(String(300))
    #: a refused check's unmet clauses, ``[[clause, words], ...]`` (nothing was sent)
    refusal: Mapped[list[list[str]] | None] = mapped_column(JSON)
    as_of: Mapped[dt.date] = mapped_column(Date)
    call_started: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    call_ended: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    disclosed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfficerEncounterRow(Base):
    """An on-site immigration officer's spell at an organisation, under the agreement."""

    __tablename__ = "officer_encounter"
    __table_args__ = (CheckConstraint("ended_at >= started_at", name="times"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    officer_reference: Mapped[str] = mapped_column(String(32))
    recorded_by: Mapped[str] = mapped_column(String(64))
    agreement: Mapped[str] = mapped_column(String(64))
    agreement_version: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EncounterPatientRow(Base):
    """A patient the officer saw during an encounter (kept here, never in the ledger)."""

    __tablename__ = "officer_encounter_patient"
    __table_args__ = (UniqueConstraint("encounter_id", "nhs_number",
                                       name="uq_officer_encounter_patient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("officer_encounter.id"))
    nhs_number: Mapped[str] = mapped_column(String(10))
