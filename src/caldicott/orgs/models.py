"""Organisations: the parties to agreements and the senders of requests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from caldicott.db import Base, UTCDateTime, utcnow

ORGANISATION_KINDS = (
    "nhs_trust",
    "nhs_digital",
    "home_office",
    "dhsc",
    "local_authority",
    "housing_association",
    "police",  # a police force
    "nca",  # the National Crime Agency
    "court",  # a court making an order
    "coroner",  # HM Coroner
    "ccrc",  # the Criminal Cases Review Commission
    "regulator",  # the ICO or an oversight committee: where outside auditors sit
)


class OrganisationRow(Base):
    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in ORGANISATION_KINDS) + ")", name="kind"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
