"""Tables of the trace-request lifecycle.

A request is in exactly one ``status`` at a time; every change is a conditional
``UPDATE ... WHERE status IN (...)`` (see ``repository.advance``), so two
workers replaying the same step cannot both win. A release is a row keyed by
the request's id: the primary key itself makes a second release impossible.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caldicott.db import Base, UTCDateTime, utcnow
from caldicott.requests.core.states import STATUSES

_STATUS_CHECK = "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")"


class TraceRequestRow(Base):
    __tablename__ = "trace_request"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        CheckConstraint("custodial_sentence_months >= 0", name="sentence"),
        UniqueConstraint("requested_by", "idempotency_key", name="uq_trace_request_idempotency"),
        Index("ix_trace_request_org_status", "organisation_id", "status"),
        Index("ix_trace_request_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    requested_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[str | None] = mapped_column(String(40), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    request_date: Mapped[dt.date] = mapped_column(Date)
    agreement: Mapped[str] = mapped_column(String(64))
    # The subject as the requester knows them.
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(7))
    postcode: Mapped[str | None] = mapped_column(String(10))
    address_line: Mapped[str | None] = mapped_column(String(200))
    # Why they ask.
    purpose: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(40))
    case_reference: Mapped[str] = mapped_column(String(60))
    justification: Mapped[str] = mapped_column(Text)
    custodial_sentence_months: Mapped[int] = mapped_column(Integer, default=0)
    risk_to_public: Mapped[bool] = mapped_column(Boolean, default=False)
    deportation_considered: Mapped[bool] = mapped_column(Boolean, default=False)
    alternatives_exhausted: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_fields: Mapped[list[str]] = mapped_column(JSON)
    # Where it is now.
    status: Mapped[str] = mapped_column(String(20))
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The decision.
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("agreement_decision.id"))
    decided_version: Mapped[str | None] = mapped_column(String(64))
    decision_hash: Mapped[str | None] = mapped_column(String(64))
    released_fields: Mapped[list[str] | None] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The trace.
    traced_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    traced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    trace_outcome: Mapped[str | None] = mapped_column(String(20))
    match_probability: Mapped[float | None] = mapped_column(Float)
    match_margin: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[int | None] = mapped_column(Integer)
    matched_nhs_number: Mapped[str | None] = mapped_column(String(10))
    # The review.
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_decision: Mapped[str | None] = mapped_column(String(10))
    review_reason: Mapped[str | None] = mapped_column(Text)


class TraceReleaseRow(Base):
    """What left: the FHIR Patient with only the fields the decision allowed. One per request."""

    __tablename__ = "trace_release"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("trace_request.id"), primary_key=True, autoincrement=False)
    released_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    fields: Mapped[list[str]] = mapped_column(JSON)
    resource: Mapped[dict[str, Any]] = mapped_column(JSON)
    new_information: Mapped[bool] = mapped_column(Boolean)
