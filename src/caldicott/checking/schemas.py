"""Wire shapes of the checking channel. A check form takes exactly these fields: anything
else (an address, a passport number) is refused, not quietly dropped."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from caldicott.checking.models import StatusCheckRow

Purpose = Literal["entitlement_to_free_care", "housing_eligibility", "benefits_eligibility"]


class CheckIn(BaseModel):
    """A status check as the manager enters it."""

    model_config = ConfigDict(extra="forbid")

    nhs_number: str | None = Field(None, min_length=10, max_length=12,
                                   description="The patient's NHS number (an NHS trust must "
                                   "give it); kept here, never sent")
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: dt.date
    nationality: str = Field(min_length=2, max_length=64)
    purpose: Purpose = "entitlement_to_free_care"
    checked_on: dt.date | None = Field(None, description="Only when the service replays "
                                       "history (CALDICOTT_REPLAY_HISTORY)")


class CheckOut(BaseModel):
    """A check as its organisation sees it."""

    id: int
    state: str
    purpose: str
    agreement: str
    agreement_version: str
    fields_sent: list[str]
    immigration_status: str | None
    evidence: str | None
    consequence: str | None
    ground: str | None
    failure: str | None
    refusal: list[list[str]] | None = Field(
        None, description="A refused check's unmet clauses, each [clause, its words]")
    disclosed_at: dt.datetime | None
    disclosed_to_home_office: str = Field(
        description="What else the Home Office learnt: that this person is in contact with "
        "this organisation at this time")

    @classmethod
    def of(cls, row: StatusCheckRow, organisation: str) -> CheckOut:
        told = (f"{organisation} asked about this person at {row.disclosed_at.isoformat()}"
                if row.disclosed_at else "nothing: the check was not sent")
        return cls(id=row.id, state=row.state, purpose=row.purpose, agreement=row.agreement,
                   agreement_version=row.agreement_version, fields_sent=row.fields_sent,
                   immigration_status=row.immigration_status, evidence=row.evidence,
                   consequence=row.consequence, ground=row.ground, failure=row.failure,
                   refusal=row.refusal, disclosed_at=row.disclosed_at,
                   disclosed_to_home_office=told)


class CheckPage(BaseModel):
    total: int
    items: list[CheckOut]


class EncounterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    officer_reference: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9-]+$")
    started_at: dt.datetime
    ended_at: dt.datetime
    patients: list[str] = Field(default_factory=list, max_length=500,
                                description="NHS numbers of the patients the officer saw")


class EncounterOut(BaseModel):
    id: int
    agreement: str
    agreement_version: str
    patients_seen: int
