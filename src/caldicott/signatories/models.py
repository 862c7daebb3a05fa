"""The register of authorised signatories: who may sign and countersign requests.

One row per officer per requesting organisation. The staff or warrant number is
unique within the organisation (stored without spaces, upper case); the rank is
a rung of the organisation kind's ladder (``core/ranks.py``). ``valid_to`` is the
last day the officer may sign (inclusive); ``None`` while open.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caldicott.db import Base, UTCDateTime, utcnow
from caldicott.orgs.models import OrganisationRow


class SignatoryRow(Base):
    __tablename__ = "signatory"
    __table_args__ = (
        UniqueConstraint("organisation_id", "staff_number"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role_title: Mapped[str] = mapped_column(String(200))
    rank: Mapped[str] = mapped_column(String(64))
    staff_number: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    may_countersign: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[OrganisationRow] = relationship(lazy="raise")
