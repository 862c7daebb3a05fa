"""Tables of the patient register: patients, their previous names, their
address history, and GP practices. The NHS number is the patient's key, as it
is in the Personal Demographics Service."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caldicott.db import Base, UTCDateTime, utcnow


class GPPracticeRow(Base):
    __tablename__ = "gp_practice"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")


class PatientRow(Base):
    __tablename__ = "patient"
    __table_args__ = (
        CheckConstraint("sex IN ('male', 'female', 'other', 'unknown')", name="sex"),
        Index("ix_patient_family_birth", "family_name", "birth_date"),
        Index("ix_patient_birth_date", "birth_date"),
        Index("ix_patient_postcode", "postcode"),
    )

    nhs_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(7))
    death_date: Mapped[dt.date | None] = mapped_column(Date)
    postcode: Mapped[str | None] = mapped_column(String(8))  # of the last known address
    gp_practice_code: Mapped[str | None] = mapped_column(ForeignKey("gp_practice.code"))
    primary_care_area: Mapped[str | None] = mapped_column(String(10))
    registered_on: Mapped[dt.date | None] = mapped_column(Date)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    gp_practice: Mapped[GPPracticeRow | None] = relationship(lazy="raise")
    addresses: Mapped[list[AddressRow]] = relationship(
        lazy="raise", order_by="AddressRow.position", cascade="all, delete-orphan"
    )
    previous_names: Mapped[list[PreviousNameRow]] = relationship(
        lazy="raise", order_by="PreviousNameRow.position", cascade="all, delete-orphan"
    )


class AddressRow(Base):
    """One address in a patient's history; ``to_date`` is null for the open one."""

    __tablename__ = "patient_address"
    __table_args__ = (Index("ix_patient_address_postcode", "postcode"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(
        ForeignKey("patient.nhs_number", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str] = mapped_column(String(200), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(String(8))
    from_date: Mapped[dt.date | None] = mapped_column(Date)
    to_date: Mapped[dt.date | None] = mapped_column(Date)


class PreviousNameRow(Base):
    __tablename__ = "patient_previous_name"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(
        ForeignKey("patient.nhs_number", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
