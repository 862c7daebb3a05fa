"""Billing tables: usage events (each counted once, by its id) and credit notes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from caldicott.db import Base, UTCDateTime, utcnow


class UsageEventRow(Base):
    """A metered use, rated when it is recorded (price version and pence kept with it)."""

    __tablename__ = "usage_event"
    __table_args__ = (
        CheckConstraint("kind IN ('call', 'officer')", name="kind"),
        CheckConstraint("duration_seconds >= 0 AND amount_pence >= 0", name="amounts"),
        Index("ix_usage_event_bill", "financial_year", "organisation_id", "month"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(80), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int] = mapped_column(Integer)
    price_version: Mapped[str] = mapped_column(String(16))
    amount_pence: Mapped[int] = mapped_column(Integer)
    financial_year: Mapped[str] = mapped_column(String(7))  # "2017/18"
    month: Mapped[str] = mapped_column(String(7))  # "2017-06", in England
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CreditNoteRow(Base):
    """A disputed event credited in full; at most one credit note per event. It counts in
    the bill of the event's own year and month, so a bill still adds up to its calls."""

    __tablename__ = "credit_note"
    __table_args__ = (CheckConstraint("amount_pence >= 0", name="amount"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    usage_event_id: Mapped[int] = mapped_column(ForeignKey("usage_event.id"), unique=True)
    amount_pence: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300))
    issued_by: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
