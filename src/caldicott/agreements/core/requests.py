"""Request value objects, one per channel: the facts a policy may look at.

They carry no personal identifiers (no name, no NHS number): only what the
agreement's conditions need, so that every decision can be stored and replayed.
Dates reach Cedar as ``YYYYMMDD`` integers (Cedar compares Longs; a reviewer can
read ``20160406`` in a clause) and the invoice's age as whole days.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from caldicott.agreements.core.vocabulary import (
    DEPORTATION_STAGES,
    FIELDS,
    RISK_CATEGORIES,
    Channel,
)
from caldicott.errors import InvalidInput


class RequestError(InvalidInput):
    """A request that cannot be put to any agreement, with the reason (HTTP 400)."""


def date_number(day: dt.date) -> int:
    """A date as the integer Cedar compares.

    Example:
        >>> date_number(dt.date(2016, 4, 6))
        20160406
    """
    return day.year * 10000 + day.month * 100 + day.day


def _check_types(request: object, kinds: dict[str, type]) -> None:
    """Refuse a fact of the wrong type (a bool is not a number; a datetime is not a date)."""
    for name, kind in kinds.items():
        value = getattr(request, name)
        wrong = not isinstance(value, kind)
        wrong = wrong or (kind is int and isinstance(value, bool))
        wrong = wrong or (kind is dt.date and isinstance(value, dt.datetime))
        if wrong:
            raise RequestError(f"{name} must be {_KIND_NAMES[kind]}, not {value!r}")


_KIND_NAMES = {bool: "true or false", int: "a whole number", str: "text", dt.date: "a date"}


def _check_fields(fields: frozenset[str]) -> None:
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        raise RequestError(f"unknown field name(s): {', '.join(unknown)}")


@dataclass(frozen=True, slots=True)
class _Request(ABC):
    channel: ClassVar[Channel]
    _kinds: ClassVar[dict[str, type]] = {}

    requester: str
    requested_fields: frozenset[str]
    patient_restricted: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.requested_fields, str) or not all(
            isinstance(f, str) for f in self.requested_fields
        ):
            raise RequestError("requested_fields must be a list of field names")
        object.__setattr__(self, "requested_fields", frozenset(self.requested_fields))
        _check_fields(self.requested_fields)
        _check_types(self, {"requester": str, "patient_restricted": bool, **self._kinds})

    @abstractmethod
    def channel_context(self, as_of: dt.date) -> dict[str, Any]:
        """The channel's own facts, as the Cedar context names them."""

    def facts(self) -> dict[str, Any]:
        """A JSON-safe record of the request, enough to decide it again."""
        raw = asdict(self)
        raw["requested_fields"] = sorted(self.requested_fields)
        raw = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in raw.items()}
        return {"channel": self.channel.value, **raw}


@dataclass(frozen=True, slots=True)
class TraceRequest(_Request):
    """A tracing request: the facts its agreement's conditions read.

    ``qualifying_sentence_months`` is the sentence that counts under UK Borders Act
    2007 s.38 (a suspended sentence does not; 12 months reached only by consecutive
    sentences does not); ``custodial_sentence_months`` is the sentence as imposed.
    ``deportation_considered=True`` with no stage given reads as stage ``considered``.
    ``purpose`` None means no purpose was stated (facts stored before purposes were
    recorded): the purpose check cannot run, and a live request must always state one.

    Example:
        >>> TraceRequest("home-office", frozenset({"name"}), category="overstayer").channel
        <Channel.TRACE: 'trace'>
        >>> TraceRequest("ho", frozenset({"name"}), deportation_considered=True).deportation_stage
        'considered'
    """

    channel: ClassVar[Channel] = Channel.TRACE
    _kinds: ClassVar[dict[str, type]] = {
        "category": str,
        "deportation_considered": bool,
        "custodial_sentence_months": int,
        "risk_to_public": bool,
        "alternatives_exhausted": bool,
        "deportation_stage": str,
        "qualifying_sentence_months": int,
        "risk_category": str,
    }

    category: str = "unspecified"  # e.g. overstayer, illegal_entrant, foreign_national_offender
    deportation_considered: bool = False
    custodial_sentence_months: int = 0
    risk_to_public: bool = False
    alternatives_exhausted: bool = False
    purpose: str | None = None  # a purpose code of the agreement version
    qualifying_sentence_months: int = 0
    deportation_stage: str = "none"  # one of DEPORTATION_STAGES
    risk_category: str = ""  # one of RISK_CATEGORIES, or "" for none

    def __post_init__(self) -> None:
        _Request.__post_init__(self)
        if self.purpose is not None and not isinstance(self.purpose, str):
            raise RequestError(f"purpose must be a purpose code, not {self.purpose!r}")
        if self.deportation_stage not in DEPORTATION_STAGES:
            raise RequestError(
                f"unknown deportation_stage {self.deportation_stage!r} "
                f"(known: {', '.join(DEPORTATION_STAGES)})"
            )
        if self.risk_category and self.risk_category not in RISK_CATEGORIES:
            raise RequestError(
                f"unknown risk_category {self.risk_category!r} "
                f"(known: {', '.join(sorted(RISK_CATEGORIES))}, or empty)"
            )
        if self.deportation_considered and self.deportation_stage == "none":
            object.__setattr__(self, "deportation_stage", "considered")
        for name in ("custodial_sentence_months", "qualifying_sentence_months"):
            if getattr(self, name) < 0:
                raise RequestError(f"{name} cannot be negative")

    def channel_context(self, as_of: dt.date) -> dict[str, Any]:
        return {
            "purpose": self.purpose or "",
            "category": self.category,
            "deportation_considered": self.deportation_considered,
            "deportation_stage": self.deportation_stage,
            "custodial_sentence_months": self.custodial_sentence_months,
            "qualifying_sentence_months": self.qualifying_sentence_months,
            "risk_to_public": self.risk_to_public,
            "risk_category": self.risk_category,
            "alternatives_exhausted": self.alternatives_exhausted,
        }


@dataclass(frozen=True, slots=True)
class StatusCheckRequest(_Request):
    """An immigration-status check a hospital makes about a patient.

    Example:
        >>> StatusCheckRequest("trust-rj1", frozenset({"name", "nationality"})).purpose
        'entitlement_to_free_care'
    """

    channel: ClassVar[Channel] = Channel.STATUS_CHECK
    _kinds: ClassVar[dict[str, type]] = {"purpose": str, "requester_kind": str}

    purpose: str = "entitlement_to_free_care"
    requester_kind: str = "nhs_trust"  # the asking organisation's kind (a trust, a council...)

    def channel_context(self, as_of: dt.date) -> dict[str, Any]:
        return {"purpose": self.purpose, "requester_kind": self.requester_kind}


@dataclass(frozen=True, slots=True)
class DebtReferralRequest(_Request):
    """A referral of an overseas visitor's unpaid NHS debt; money in integer pence.

    Example:
        >>> r = DebtReferralRequest("trust-rj1", frozenset({"name"}), debt_pence=60000,
        ...     treatment_date=dt.date(2017, 3, 1), invoice_date=dt.date(2017, 3, 2))
        >>> r.channel_context(dt.date(2017, 5, 11))["invoice_age_days"]
        70
    """

    channel: ClassVar[Channel] = Channel.DEBT_REFERRAL
    _kinds: ClassVar[dict[str, type]] = {
        "debt_pence": int,
        "treatment_date": dt.date,
        "invoice_date": dt.date,
        "paid": bool,
        "instalment_plan_agreed": bool,
    }

    # The dates have no default: a referral without them must not look 56 years overdue.
    treatment_date: dt.date = field(kw_only=True)
    invoice_date: dt.date = field(kw_only=True)
    debt_pence: int = 0
    paid: bool = False
    instalment_plan_agreed: bool = False

    def channel_context(self, as_of: dt.date) -> dict[str, Any]:
        if isinstance(self.debt_pence, bool) or not isinstance(self.debt_pence, int):
            raise RequestError("a debt is a whole number of pence")
        if self.debt_pence < 0:
            raise RequestError("a debt cannot be negative")
        return {
            "debt_pence": self.debt_pence,
            "treatment_date": date_number(self.treatment_date),
            "invoice_age_days": (as_of - self.invoice_date).days,
            "paid": self.paid,
            "instalment_plan_agreed": self.instalment_plan_agreed,
        }


Request = TraceRequest | StatusCheckRequest | DebtReferralRequest

_BY_CHANNEL: dict[str, type[_Request]] = {
    Channel.TRACE: TraceRequest,
    Channel.STATUS_CHECK: StatusCheckRequest,
    Channel.DEBT_REFERRAL: DebtReferralRequest,
}


def request_from_facts(facts: dict[str, Any]) -> Request:
    """Rebuild a request from :meth:`facts` (as stored for replay).

    Example:
        >>> r = TraceRequest("home-office", frozenset({"name"}), category="overstayer")
        >>> request_from_facts(r.facts()) == r
        True
    """
    raw = dict(facts)
    kind = _BY_CHANNEL.get(raw.pop("channel", ""))
    if kind is None:
        raise RequestError(f"unknown channel in {facts!r}")
    asked = raw.get("requested_fields", ())
    if not isinstance(asked, list | tuple | set | frozenset):
        raise RequestError("requested_fields must be a list of field names")
    raw["requested_fields"] = frozenset(asked)
    for key in ("treatment_date", "invoice_date"):
        if isinstance(raw.get(key), str):
            try:
                raw[key] = dt.date.fromisoformat(raw[key])
            except ValueError as error:
                raise RequestError(f"{key} is not a date: {error}") from error
    try:
        return kind(**raw)  # type: ignore[return-value]
    except TypeError as error:
        raise RequestError(f"request facts do not fit a {kind.__name__}: {error}") from error
