"""Wire shapes of trace requests (pydantic)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

CATEGORIES = ("overstayer", "illegal_entrant", "absconder", "reporting_breach", "deception",
              "foreign_national_offender", "vulnerable_person", "other")
TRACE_FIELDS = ("name", "previous_names", "date_of_birth", "sex", "address", "gp_practice",
                "registration_date", "primary_care_area")
DEFAULT_FIELDS: list[str] = ["name", "date_of_birth", "address", "gp_practice"]
MAX_BATCH = 10_000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

Category = Literal["overstayer", "illegal_entrant", "absconder", "reporting_breach",
                   "deception", "foreign_national_offender", "vulnerable_person", "other"]
FieldName = Literal["name", "previous_names", "date_of_birth", "sex", "address", "gp_practice",
                    "registration_date", "primary_care_area"]


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


def _optional_printable(value: str | None) -> str | None:
    return None if value is None or not value.strip() else _printable(value)


Text = Annotated[str, AfterValidator(_printable)]
Short = Annotated[str, Field(max_length=10)]
Name = Annotated[str, Field(max_length=100)]
Line = Annotated[str, Field(max_length=200)]


class TraceRequestIn(BaseModel):
    """One tracing request: the subject as the requester knows them, and why they ask."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "given_name": "Amara", "family_name": "Testperson", "birth_date": "1984-03-14",
        "sex": "female", "postcode": "LS6 2AB", "purpose": "tracing an immigration offender",
        "category": "overstayer", "case_reference": "HO-2017-0001",
        "justification": "Previously in contact; cannot now be located.",
        "alternatives_exhausted": True, "request_date": "2017-06-01"}]})

    given_name: Annotated[Name | None, AfterValidator(_optional_printable)] = None
    family_name: Annotated[Text, Field(min_length=1, max_length=100)]
    birth_date: dt.date
    sex: Literal["male", "female", "other", "unknown"] | None = None
    postcode: Annotated[Short | None, AfterValidator(_optional_printable)] = None
    address_line: Annotated[Line | None, AfterValidator(_optional_printable)] = Field(
        None, description="First line of the last known address, as the requester knows it")
    purpose: Annotated[Text, Field(min_length=1, max_length=100)]
    category: Category
    case_reference: Annotated[Text, Field(min_length=1, max_length=60)]
    justification: Annotated[Text, Field(min_length=1, max_length=2000)]
    custodial_sentence_months: int = Field(0, ge=0, le=1200)
    risk_to_public: bool = False
    deportation_considered: bool = False
    alternatives_exhausted: bool = False
    requested_fields: list[FieldName] = Field(
        default_factory=lambda: list(DEFAULT_FIELDS),  # type: ignore[arg-type]
        min_length=1, max_length=8)
    request_date: dt.date | None = Field(
        None, description="The date the request is judged as of (default: today; not later)")
    agreement: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")] = "tracing-mou"


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: list[TraceRequestIn] = Field(min_length=1, max_length=MAX_BATCH)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "refuse"]
    reason: Annotated[Text, Field(min_length=1, max_length=2000)]


class Reason(BaseModel):
    clause: str
    text: str


class DecisionOut(BaseModel):
    agreement: str
    version: str | None
    content_hash: str | None
    released_fields: list[str]
    reasons: list[Reason]


class TraceOut(BaseModel):
    outcome: str
    match_probability: float | None
    margin_bits: float | None
    model_version: int | None
    traced_by: int | None
    traced_at: dt.datetime | None


class ReviewOut(BaseModel):
    decision: str
    reason: str
    reviewed_by: int | None
    reviewed_at: dt.datetime


class ReleaseOut(BaseModel):
    released_at: dt.datetime
    fields: list[str]
    new_information: bool
    resource: dict[str, Any]


class SubjectOut(BaseModel):
    given_name: str | None
    family_name: str
    birth_date: dt.date
    sex: str | None
    postcode: str | None
    address_line: str | None


class TraceRequestOut(BaseModel):
    id: int
    status: str
    closed: bool
    organisation: str
    requested_by: int
    batch_id: str | None
    received_at: dt.datetime
    request_date: dt.date
    category: str
    purpose: str
    case_reference: str
    requested_fields: list[str]
    subject: SubjectOut
    decision: DecisionOut | None
    trace: TraceOut | None
    review: ReviewOut | None
    release: ReleaseOut | None


class TraceRequestPage(BaseModel):
    total: int
    items: list[TraceRequestOut]


class BatchOut(BaseModel):
    batch_id: str
    accepted: int
    request_ids: list[int]
