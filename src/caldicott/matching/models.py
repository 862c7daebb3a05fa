"""Tables of the matcher: trained models, and the blocking index over the register.

``match_index`` holds one row per way a register person can be found (their
current name and address, each previous name, each previous postcode), already
normalised, with the blocking keys indexed. A real-time trace is one indexed
query on it (``repository.candidate_rows``), which scales with the database,
not with memory; the term frequencies of each row's values sit beside them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from caldicott.db import Base, UTCDateTime, utcnow


class MatchingModelRow(Base):
    """A trained Splink model: its JSON, version, hash, and what was pinned."""

    __tablename__ = "matching_model"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    model_json: Mapped[str] = mapped_column(Text)
    pins_json: Mapped[str] = mapped_column(Text, default="[]")
    link_type: Mapped[str] = mapped_column(String(20))
    trained_on: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MatchIndexRow(Base):
    __tablename__ = "match_index"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(
        ForeignKey("patient.nhs_number", ondelete="CASCADE"), index=True)
    variant: Mapped[str] = mapped_column(String(20))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    given_nicks: Mapped[str | None] = mapped_column(String(400))
    birth_date: Mapped[str | None] = mapped_column(String(10))
    postcode: Mapped[str | None] = mapped_column(String(10))
    sex: Mapped[str | None] = mapped_column(String(7))
    tf_given_name: Mapped[float | None] = mapped_column(Float)
    tf_family_name: Mapped[float | None] = mapped_column(Float)
    tf_postcode: Mapped[float | None] = mapped_column(Float)
    k_family_dob: Mapped[str | None] = mapped_column(String(20), index=True)
    k_given_dob: Mapped[str | None] = mapped_column(String(20), index=True)
    k_postcode_year: Mapped[str | None] = mapped_column(String(20), index=True)
    k_names_year: Mapped[str | None] = mapped_column(String(20), index=True)
    k_family_postcode: Mapped[str | None] = mapped_column(String(20), index=True)
    k_given_postcode: Mapped[str | None] = mapped_column(String(20), index=True)
    k_names_district: Mapped[str | None] = mapped_column(String(20), index=True)
