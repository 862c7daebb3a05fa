"""Wire shapes of the register of authorised signatories."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from caldicott.signatories.models import SignatoryRow

#: An organisation code as ``caldicott org add`` accepts it (any case).
ORGANISATION_CODE = r"^[A-Za-z0-9][A-Za-z0-9-]{1,15}$"


class SignatoryIn(BaseModel):
    """An officer to add to an organisation's register."""

    model_config = ConfigDict(extra="forbid")

    organisation: str = Field(pattern=ORGANISATION_CODE, examples=["WMP"],
                              description="The requesting organisation's code")
    full_name: str = Field(max_length=200, examples=["Alex Example"])
    rank: str = Field(max_length=64, examples=["inspector"],
                      description="A rank or grade of the organisation kind's ladder")
    staff_number: str = Field(max_length=40, examples=["4417"],
                              description="Staff or warrant number, unique in the organisation")
    role_title: str | None = Field(default=None, max_length=200,
                                   examples=["Detective Inspector, Major Crime"])
    may_countersign: bool = False
    valid_from: dt.date
    valid_to: dt.date | None = Field(default=None,
                                     description="Last day the officer may sign (inclusive)")


class SignatoryEnd(BaseModel):
    """When an officer's authority ends."""

    model_config = ConfigDict(extra="forbid")

    on: dt.date = Field(description="The last day the officer may sign")


class SignatoryOut(BaseModel):
    id: int
    organisation: str = Field(examples=["WMP"])
    full_name: str
    role_title: str
    rank: str = Field(examples=["inspector"])
    staff_number: str
    may_countersign: bool
    valid_from: dt.date
    valid_to: dt.date | None

    @classmethod
    def of(cls, row: SignatoryRow) -> SignatoryOut:
        return cls(id=row.id, organisation=row.organisation.code, full_name=row.full_name,
                   role_title=row.role_title, rank=row.rank, staff_number=row.staff_number,
                   may_countersign=row.may_countersign, valid_from=row.valid_from,
                   valid_to=row.valid_to)
