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
        Index("ix_trace_request_status_id", "status", "id"),  # the reviewer's queue, in order
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
    family_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)  # None: a partial date or a range
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
    # Who asks and who countersigned (staff or warrant numbers in the signatory register),
    # and the richer facts as the requester gave them (aliases, convictions, the offence...).
    requesting_officer: Mapped[str | None] = mapped_column(String(40))
    countersigning_officer: Mapped[str | None] = mapped_column(String(40))
    urgency: Mapped[str] = mapped_column(String(10), default="routine")
    subject_vulnerable: Mapped[bool] = mapped_column(Boolean, default=False)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where it is now.
    status: Mapped[str] = mapped_column(String(30))
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The decision.
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("agreement_decision.id"))
    decided_version: Mapped[str | None] = mapped_column(String(64))
    decision_hash: Mapped[str | None] = mapped_column(String(64))
    released_fields: Mapped[list[str] | None] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The procedure: what the checks and the tracer found (reason codes and words).
    procedure_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    validated_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    validated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The trace.
    traced_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    traced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    trace_outcome: Mapped[str | None] = mapped_column(String(20))
    match_probability: Mapped[float | None] = mapped_column(Float)
    match_margin: Mapped[float | None] = mapped_column(Float)
    # The bar the trace had to clear, raised for the fields the request lacked (what the
    # review shows: which fields were missing, how the bar rose, what corroborated).
    release_bar: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    model_version: Mapped[int | None] = mapped_column(Integer)
    matched_nhs_number: Mapped[str | None] = mapped_column(String(10))
    # Who must look at the traced outcome: "release" (a reviewer) or "guardian" (the Caldicott
    # Guardian: a restricted, deceased, child or vulnerable subject), and why.
    route: Mapped[str | None] = mapped_column(String(10))
    route_reasons: Mapped[list[str] | None] = mapped_column(JSON)
    release_decision_id: Mapped[int | None] = mapped_column(ForeignKey("agreement_decision.id"))
    release_check_fields: Mapped[list[str] | None] = mapped_column(JSON)
    # The review.
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_decision: Mapped[str | None] = mapped_column(String(20))
    review_reason: Mapped[str | None] = mapped_column(Text)
    disclosure_kind: Mapped[str | None] = mapped_column(String(20))


class TraceReleaseRow(Base):
    """What left: the FHIR Patient with only the fields the decision allowed. One per request."""

    __tablename__ = "trace_release"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("trace_request.id"), primary_key=True, autoincrement=False)
    released_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    fields: Mapped[list[str]] = mapped_column(JSON)
    resource: Mapped[dict[str, Any]] = mapped_column(JSON)
    new_information: Mapped[bool] = mapped_column(Boolean)
    # "fields", or a less intrusive outcome: "forward_letter", "contact_via_gp",
    # "confirm_presence" (nothing about where the person is leaves).
    kind: Mapped[str] = mapped_column(String(20), default="fields")


class TraceRunRow(Base):
    """One run of the trace (the first, and every re-trace): who ran it and what it found.

    Kept for separation of duties: anyone who ever traced a request may not approve it.
    """

    __tablename__ = "trace_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("trace_request.id"), index=True)
    traced_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    traced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))
    match_probability: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[int | None] = mapped_column(Integer)


class TraceReviewRow(Base):
    """One reviewer's decision on a traced request; a release needs as many distinct
    reviewers' approvals as the agreement version asks for (one or two)."""

    __tablename__ = "trace_review"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("trace_request.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    decision: Mapped[str] = mapped_column(String(20))
    disclosure_kind: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    reviewed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PublicInterestRow(Base):
    """The public-interest decision taken before the trace, as a structured record.

    ``record`` is the canonical JSON the decider signed off; ``sha256`` its hash,
    which also goes into the ledger (the decision's entry and the release's), so
    the reason given at the time cannot be changed later without ``verify`` failing.
    """

    __tablename__ = "public_interest_record"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("trace_request.id"), primary_key=True, autoincrement=False)
    decided_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision: Mapped[str] = mapped_column(String(10))
    record: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
