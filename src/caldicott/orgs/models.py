"""Organisations: the parties to agreements and the senders of requests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from caldicott.db import Base, UTCDateTime, utcnow
from caldicott.orgs.kinds import ORGANISATION_KINDS

__all__ = ["ORGANISATION_KINDS", "OrganisationRow"]



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
