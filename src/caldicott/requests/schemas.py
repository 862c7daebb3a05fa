"""Wire shapes of trace requests (pydantic)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

CATEGORIES = ("overstayer", "illegal_entrant", "absconder", "reporting_breach", "deception",
              "foreign_national_offender", "vulnerable_person", "serious_crime", "court_order",
              "warrant_subject", "other")
TRACE_FIELDS = ("name", "previous_names", "date_of_birth", "sex", "address", "gp_practice",
                "registration_date", "primary_care_area")
DEFAULT_FIELDS: list[str] = ["name", "date_of_birth", "address", "gp_practice"]
MAX_BATCH = 10_000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

Category = Literal["overstayer", "illegal_entrant", "absconder", "reporting_breach",
                   "deception", "foreign_national_offender", "vulnerable_person",
                   "serious_crime", "court_order", "warrant_subject", "other"]
SentenceType = Literal["immediate", "suspended", "consecutive", "concurrent", "indeterminate",
                       "hospital_order", "detention"]
DeportationStage = Literal["none", "considered", "decision_made", "order_signed", "appeal",
                           "removed"]
RiskCategory = Literal["national_security", "terrorism", "serious_violence",
                       "sexual_offending", "serious_organised_crime"]
ProcedureCode = Literal["missing_countersignature", "unauthorised_signatory",
                        "unauthorised_countersignatory", "countersignatory_rank_too_low",
                        "self_countersigned", "subject_under_identified", "no_offence_given",
                        "no_court_order", "procedure_not_followed"]
DisclosureKind = Literal["fields", "forward_letter", "contact_via_gp", "confirm_presence"]
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


class PersonName(BaseModel):
    """Another name the subject is known by (an alias, or a name they used before)."""

    model_config = ConfigDict(extra="forbid")

    given_name: Annotated[Name | None, AfterValidator(_optional_printable)] = None
    family_name: Annotated[Text, Field(min_length=1, max_length=100)]


class OffenceIn(BaseModel):
    """The offence suspected or investigated: statute and section, in words."""

    model_config = ConfigDict(extra="forbid")

    statute: Annotated[Text, Field(min_length=1, max_length=120)]
    section: Annotated[Text, Field(min_length=1, max_length=40)]
    description: Annotated[Text | None, Field(max_length=300)] = None


class ConvictionIn(BaseModel):
    """A conviction as the court recorded it (the sentence that counts is worked out)."""

    model_config = ConfigDict(extra="forbid")

    offence: Annotated[Text, Field(min_length=1, max_length=200)]
    statute: Annotated[Text, Field(min_length=1, max_length=120)]
    court: Annotated[Text, Field(min_length=1, max_length=120)]
    date: dt.date
    sentence_type: SentenceType
    length_months: int | None = Field(None, ge=0, le=1200, description=(
        "This one sentence's term; none for an indeterminate sentence or a hospital order "
        "without a fixed length"))
    consecutive_group: Annotated[str | None, Field(
        None, pattern=r"^[A-Za-z0-9-]{1,20}$", description="Sentences ordered to run one "
        "after another share a group name")]
    activated: bool = Field(False, description="A court ordered a suspended sentence to take "
                            "effect")


class RiskIn(BaseModel):
    """A risk to the public, named, with its basis (shown to the reviewer)."""

    model_config = ConfigDict(extra="forbid")

    category: RiskCategory
    basis: Annotated[Text, Field(min_length=1, max_length=1000)]


class CourtOrderIn(BaseModel):
    """A court order requiring disclosure."""

    model_config = ConfigDict(extra="forbid")

    court: Annotated[Text, Field(min_length=1, max_length=120)]
    reference: Annotated[Text, Field(min_length=1, max_length=60)]
    made_on: dt.date


class TraceRequestIn(BaseModel):
    """One tracing request: the subject as the requester knows them, and why they ask.

    The agreement it is decided under is not chosen here: it follows from the
    channel, the requester's organisation and the day caldicott receives it.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "given_name": "Amara", "family_name": "Testperson", "birth_date": "1984-03-14",
        "sex": "female", "postcode": "LS6 2AB", "purpose": "trace_immigration_offender",
        "category": "overstayer", "case_reference": "HO-2017-0001",
        "justification": "Previously in contact; cannot now be located.",
        "suspected_offence": {"statute": "Immigration Act 1971", "section": "24(1)(b)"},
        "alternatives_tried": ["last known address visited", "reporting centre records"],
        "alternatives_exhausted": True, "requesting_officer": "HO-1001",
        "countersigning_officer": "HO-2001"}]})

    given_name: Annotated[Name | None, AfterValidator(_optional_printable)] = None
    family_name: Annotated[Name | None, AfterValidator(_optional_printable)] = Field(
        None, description="Family name, if known. Any one of the subject's fields may be "
        "missing; a request needs a name and, besides it, a date of birth or a postcode")
    birth_date: dt.date | None = Field(None, description="Full date of birth, if known")
    birth_date_partial: Annotated[str | None, Field(
        None, pattern=r"^\d{4}(-\d{2})?$",
        description="Year (YYYY) or year and month (YYYY-MM) when the full date is unknown")]
    birth_date_from: dt.date | None = None
    birth_date_to: dt.date | None = None
    sex: Literal["male", "female", "other", "unknown"] | None = None
    postcode: Annotated[Short | None, AfterValidator(_optional_printable)] = None
    address_line: Annotated[Line | None, AfterValidator(_optional_printable)] = Field(
        None, description="First line of the last known address, as the requester knows it")
    aliases: list[PersonName] = Field(default_factory=list, max_length=10)
    previous_names: list[PersonName] = Field(default_factory=list, max_length=10)
    nationality: Annotated[Name | None, AfterValidator(_optional_printable)] = None
    home_office_reference: Annotated[Name | None, AfterValidator(_optional_printable)] = None
    purpose: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$", description=(
        "The purpose code: one of the purposes of the agreement version in force"))]
    category: Category
    case_reference: Annotated[Text, Field(min_length=1, max_length=60)]
    justification: Annotated[Text, Field(min_length=1, max_length=2000)]
    suspected_offence: OffenceIn | None = None
    convictions: list[ConvictionIn] = Field(default_factory=list, max_length=50)
    deportation_stage: DeportationStage = "none"
    deportation_stage_date: dt.date | None = None
    risk_to_public: RiskIn | None = None
    court_order: CourtOrderIn | None = None
    subject_vulnerable: bool = Field(False, description="The subject is a child or declared "
                                     "vulnerable (the request goes to the Caldicott Guardian)")
    date_of_last_contact: dt.date | None = None
    alternatives_tried: list[Annotated[Text, Field(max_length=200)]] = Field(
        default_factory=list, max_length=10)
    alternatives_exhausted: bool = False
    urgency: Literal["routine", "urgent"] = "routine"
    requesting_officer: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9/-]{0,39}$",
                                             description="Staff or warrant number")]
    countersigning_officer: Annotated[str | None, Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9/-]{0,39}$",
        description="Staff or warrant number of the officer who countersigned")]
    requested_fields: list[FieldName] = Field(
        default_factory=lambda: list(DEFAULT_FIELDS),  # type: ignore[arg-type]
        min_length=1, max_length=8)
    request_date: dt.date | None = Field(
        None, description="Only in a replay of history (the demo's scenario): the date the "
        "request is judged as of. A live service refuses it: a request is judged as of the "
        "day caldicott receives it.")


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: list[TraceRequestIn] = Field(min_length=1, max_length=MAX_BATCH)


class ValidateIn(BaseModel):
    """A tracer's check of the procedure, before any patient data is touched."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "reject"]
    reasons: list[ProcedureCode] = Field(default_factory=list, max_length=10)
    note: Annotated[Text, Field(min_length=1, max_length=2000)]


class PublicInterestIn(BaseModel):
    """The public-interest decision, as a structured record, before the trace.

    Its SHA-256 goes into the ledger; ``caldicott ledger verify`` fails if the
    stored record is later changed.
    """

    model_config = ConfigDict(extra="forbid")

    decision: Literal["disclose", "refuse"]
    gateway: Annotated[Text, Field(min_length=1, max_length=300, description=(
        "The statutory gateway relied on, quoted"))]
    seriousness: Annotated[Text, Field(min_length=1, max_length=2000)]
    necessity: Annotated[Text, Field(min_length=1, max_length=2000, description=(
        "Could this be done without the address? Without disclosure at all?"))]
    proportionality: Annotated[Text, Field(min_length=1, max_length=2000)]
    harm_to_trust: Annotated[Text, Field(min_length=1, max_length=2000, description=(
        "The harm to patients' trust in the confidential health service"))]
    vulnerability: Annotated[Text, Field(min_length=1, max_length=2000, description=(
        "The subject's vulnerability, as far as the request shows it"))]
    patient_told: Literal["yes", "no", "deferred"]
    patient_told_reason: Annotated[Text, Field(min_length=1, max_length=1000)]
    decider_name: Annotated[Text, Field(min_length=1, max_length=200)]
    decider_grade: Annotated[Text, Field(min_length=1, max_length=100)]


class ReviewIn(BaseModel):
    """A reviewer's decision on a traced request.

    ``approve`` releases (``disclosure`` chooses what: the allowed fields, or a
    less intrusive outcome first); ``refuse`` closes with nothing released;
    ``confirm_no_trace`` closes a request whose trace found nobody (or too many).
    """

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "refuse", "confirm_no_trace"]
    disclosure: DisclosureKind = "fields"
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


class RefusalOut(BaseModel):
    """Why a request was refused before any patient data was touched."""

    kind: Literal["procedure", "agreement", "public_interest"]
    reasons: list[Reason]


class TraceRunOut(BaseModel):
    outcome: str
    match_probability: float | None
    model_version: int | None
    traced_by: int | None
    traced_at: dt.datetime


class ReleaseBarOut(BaseModel):
    """The bar the trace had to clear: the release rule, raised for each field the request
    lacked (fewer fields, more evidence needed)."""

    missing: list[str]
    threshold: float
    margin_bits: float
    base_threshold: float
    base_margin_bits: float
    corroboration_needed: int = Field(description="Identifiers beyond the name (date of "
                                      "birth, postcode, sex) that had to agree exactly")
    corroborated_by: list[str]
    explanation: str


class TraceOut(BaseModel):
    outcome: str
    match_probability: float | None
    margin_bits: float | None
    model_version: int | None
    traced_by: int | None
    traced_at: dt.datetime | None
    route: str | None
    route_reasons: list[str]
    release_bar: ReleaseBarOut | None
    runs: list[TraceRunOut]


class ReviewOut(BaseModel):
    decision: str
    disclosure: str | None
    reason: str
    reviewed_by: int | None
    reviewed_at: dt.datetime


class ProcedureOut(BaseModel):
    reasons: list[Reason]
    validated_by: int | None
    validated_at: dt.datetime | None


class PublicInterestOut(BaseModel):
    decision: str
    decided_by: int
    decided_at: dt.datetime
    sha256: str
    record: dict[str, Any]


class ReleaseOut(BaseModel):
    released_at: dt.datetime
    kind: str
    fields: list[str]
    new_information: bool
    resource: dict[str, Any]


class SubjectOut(BaseModel):
    given_name: str | None
    family_name: str | None
    birth_date: dt.date | None
    birth_date_partial: str | None
    birth_date_from: dt.date | None
    birth_date_to: dt.date | None
    sex: str | None
    postcode: str | None
    address_line: str | None
    aliases: list[PersonName]
    previous_names: list[PersonName]
    nationality: str | None
    home_office_reference: str | None


class FactsOut(BaseModel):
    """Everything the requester asserted, as the reviewer sees it."""

    justification: str
    suspected_offence: OffenceIn | None
    convictions: list[ConvictionIn]
    qualifying_sentence_months: int
    deportation_stage: str
    deportation_stage_date: dt.date | None
    risk_to_public: RiskIn | None
    court_order: CourtOrderIn | None
    subject_vulnerable: bool
    date_of_last_contact: dt.date | None
    alternatives_tried: list[str]
    alternatives_exhausted: bool
    requesting_officer: str | None
    countersigning_officer: str | None


class TraceRequestOut(BaseModel):
    """A request as the caller may see it.

    ``status`` is what the caller may know: a requester sees only received,
    under_consideration, refused, released, person_deceased or closed (nothing
    released), so a no-trace reads exactly like a refusal after review. Staff
    also see ``internal_status`` and the procedure, public-interest, trace and
    review blocks.
    """

    id: int
    status: str
    internal_status: str | None
    closed: bool
    organisation: str
    requested_by: int
    batch_id: str | None
    received_at: dt.datetime
    request_date: dt.date
    agreement: str
    category: str
    purpose: str
    case_reference: str
    urgency: str
    requested_fields: list[str]
    subject: SubjectOut
    facts: FactsOut
    decision: DecisionOut | None
    refusal: RefusalOut | None
    release: ReleaseOut | None
    procedure: ProcedureOut | None
    public_interest: PublicInterestOut | None
    trace: TraceOut | None
    reviews: list[ReviewOut] | None


class TraceRequestPage(BaseModel):
    total: int
    items: list[TraceRequestOut]


class BatchOut(BaseModel):
    batch_id: str
    accepted: int
    request_ids: list[int]
