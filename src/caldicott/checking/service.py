"""Status-check use cases. Services never commit: the edge owns each transaction.

A check runs in three steps, each its own transaction at the edge (see
:mod:`caldicott.checking.flow`), because a call to another organisation cannot share a
database transaction:

1. :func:`open_check`: who asks, whether their organisation has signed its memorandum by
   that day, and the checking-service agreement in force that day decide; the decision
   is stored and the check is kept as ``pending`` with the fields it may send.
2. the connector sends only those fields, under the check's own idempotency key.
3. :func:`close_check`: the answer (or the failure) is recorded with one ledger entry:
   a ``disclosure`` whenever the body may have reached the Home Office (answered, timed
   out, failed there), naming the organisation and the time as disclosed; a charge
   (usage event) only for an answered call.

A crash between 1 and 3 leaves the check ``pending``; asking again with the same
idempotency key sends it again under the same key, and the Home Office answers a
repeated key with the answer it already gave: nothing is lost, nothing charged twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from caldicott.agreements.core import Channel, Outcome
from caldicott.agreements.core.requests import StatusCheckRequest
from caldicott.agreements.service import agreement_for_request, decide_and_record
from caldicott.billing.core.bills import UsageEvent
from caldicott.billing.service import record_usage
from caldicott.checking import repository
from caldicott.checking.connector import Reply
from caldicott.checking.core.answers import Person, consequence, wire_person
from caldicott.checking.models import MemorandumRow, StatusCheckRow
from caldicott.db import utcnow
from caldicott.errors import (
    Conflict,
    Forbidden,
    GatewayTimeout,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
)
from caldicott.ledger.core.events import Agent, AuditEvent, Pseudonym
from caldicott.ledger.service import append, pseudonym_of, subject_of
from caldicott.orgs.models import OrganisationRow
from caldicott.orgs.service import get_organisation
from caldicott.register.records import RecordError, check_nhs_number
from caldicott.settings import Settings


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks: their organisation's code and a reference to them (``user/7``)."""

    organisation: str
    who: str
    role: str = "overseas_visitors_manager"


@dataclass(frozen=True, slots=True)
class CheckForm:
    """What the manager enters. The NHS number identifies the patient in caldicott's own
    records (the ledger, the history) and is never sent."""

    person: Person
    purpose: str = "entitlement_to_free_care"
    nhs_number: str | None = None


def sign_memorandum(session: Session, organisation: str, signed_on: dt.date,
                    reference: str = "") -> MemorandumRow:
    """Record that an organisation signed its memorandum with the Home Office.

    Raises:
        Conflict: it has already signed (on the date shown).
        InvalidInput: its kind is not one the checking service serves.
    """
    org = get_organisation(session, organisation)
    if org.kind not in ("nhs_trust", "local_authority", "housing_association"):
        raise InvalidInput(f"{org.code} is a {org.kind}: only NHS trusts, local authorities "
                           "and housing associations sign the checking-service memorandum")
    existing = repository.memorandum_of(session, org.id)
    if existing is not None:
        raise Conflict(f"{org.code} signed its memorandum on {existing.signed_on.isoformat()}")
    row = MemorandumRow(organisation_id=org.id, signed_on=signed_on,
                        reference=reference or f"MOU-{org.code}")
    return repository.add(session, row)  # type: ignore[no-any-return]


def _ensure_signed(session: Session, org: OrganisationRow, day: dt.date) -> None:
    memo = repository.memorandum_of(session, org.id)
    if memo is None:
        raise Forbidden(f"{org.code} has not signed a memorandum with the Home Office for the "
                        "checking service; no check was sent")
    if memo.signed_on > day:
        raise Forbidden(f"{org.code} signed its memorandum on {memo.signed_on.isoformat()}, "
                        f"after {day.isoformat()}; no check was sent")


def client_key_hash(key: str) -> str:
    """Idempotency keys are stored hashed: a caller could put anything in one."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def open_check(session: Session, settings: Settings, requester: Requester, form: CheckForm,
               *, as_of: dt.date, client_key: str | None = None) -> tuple[StatusCheckRow, bool]:
    """Decide a check and keep it as pending; a known idempotency key returns that check.

    Returns the check and whether it is new.

    Raises:
        Forbidden: the organisation has not signed by ``as_of`` (nothing is kept).

    A check the agreement refuses is an outcome, not an error: it is kept in state
    ``refused`` with the unmet clauses, its decision stored and a ledger entry appended
    (naming no one: nothing left); the edge answers it with :func:`raise_if_failed`.

    Example:
        >>> row, new = open_check(session, settings, Requester("RDM01", "user/7"), form,
        ...                       as_of=dt.date(2017, 6, 1))  # doctest: +SKIP
    """
    org = get_organisation(session, requester.organisation)
    hashed = client_key_hash(client_key) if client_key else None
    if hashed is not None:
        existing = repository.check_by_client_key(session, org.id, hashed)
        if existing is not None:
            return existing, False
    nhs = _nhs_number(form.nhs_number, org.kind)
    _ensure_signed(session, org, as_of)
    agreement = agreement_for_request(session, settings, Channel.STATUS_CHECK, org.kind,
                                      org.code, as_of)
    version = agreement.version_on(as_of)
    assert version is not None  # agreement_for_request found one on that day
    request = StatusCheckRequest(org.code, version.allowed_fields, purpose=form.purpose,
                                 requester_kind=org.kind)
    uid = uuid.uuid4().hex
    decision = decide_and_record(session, request, as_of, agreement,
                                 request_ref=f"status-check/{uid}")
    refused = decision.outcome is not Outcome.PERMIT
    person = form.person
    row = StatusCheckRow(
        uid=uid, organisation_id=org.id, client_key=hashed, requested_by=requester.who,
        purpose=form.purpose, agreement=agreement.id, agreement_version=version.version,
        content_hash=version.content_hash,
        fields_sent=[] if refused else sorted(decision.released_fields),
        nhs_number=nhs, given_name=person.given_name, family_name=person.family_name,
        birth_date=person.birth_date, nationality=person.nationality, as_of=as_of)
    if refused:
        row.state = "refused"
        row.refusal = ([[u.clause_id, u.text] for u in decision.unmet]
                       or [["", f"the agreement's answer is {decision.outcome.value}"]])
    repository.add(session, row)
    if refused:
        append(session, settings, _refusal_event(row, org))
    return row, True


def _nhs_number(value: str | None, kind: str) -> str | None:
    if value is None:
        if kind == "nhs_trust":
            raise InvalidInput("an NHS trust's check names the patient's NHS number (it is "
                               "never sent; it keeps the check in the patient's record)")
        return None
    try:
        return check_nhs_number(value)
    except RecordError as error:
        raise InvalidInput(str(error)) from None


def body_of(row: StatusCheckRow, organisation: str) -> dict[str, Any]:
    """What leaves: the check's key, the organisation, the purpose and only the fields the
    agreement allowed (never the NHS number, never an address)."""
    person = Person(row.given_name, row.family_name, row.birth_date, row.nationality)
    return {"check": row.uid, "organisation": organisation, "purpose": row.purpose,
            "person": wire_person(person, frozenset(row.fields_sent))}


def close_check(session: Session, settings: Settings, check_id: int, reply: Reply,
                started: dt.datetime, ended: dt.datetime) -> StatusCheckRow:
    """Record what the Home Office answered (or why it did not), the ledger entry, and
    the charge of an answered call. A check already answered is left as it is."""
    row = repository.check(session, check_id, lock=True)
    if row is None:
        raise InvalidInput(f"no status check {check_id}")
    if row.state in ("answered", "refused"):
        return row
    org = get_organisation_by_id(session, row.organisation_id)
    row.attempts += reply.attempts
    if reply.answer is not None:
        _record_answer(row, reply, org.kind, started, ended)
        record_usage(session, [UsageEvent(f"call/{row.uid}", org.id, "call", started, ended)])
    else:
        row.state = {"timeout": "timed_out", "unavailable": "not_sent" if not reply.reached
                     else "failed", "refused": "failed"}[reply.failure or "unavailable"]
        row.failure = reply.message[:300]
    if reply.reached:
        row.disclosed_at = row.disclosed_at or started
    append(session, settings, _ledger_event(settings, row, org, reply, started))
    session.flush()
    return row


def get_organisation_by_id(session: Session, organisation_id: int) -> OrganisationRow:
    org = session.get(OrganisationRow, organisation_id)
    assert org is not None  # a foreign key
    return org


def _record_answer(row: StatusCheckRow, reply: Reply, kind: str, started: dt.datetime,
                   ended: dt.datetime) -> None:
    assert reply.answer is not None
    row.state, row.failure = "answered", None
    row.immigration_status, row.evidence = reply.answer.immigration_status, reply.answer.evidence
    row.consequence, row.ground = consequence(reply.answer, kind)
    row.call_started, row.call_ended = started, ended


def subject(settings: Settings, row: StatusCheckRow) -> Pseudonym:
    """The ledger's stand-in for the person checked: their NHS number, or (a council's
    client, who has none here) their name and date of birth."""
    if row.nhs_number:
        return subject_of(settings, row.nhs_number)
    return pseudonym_of(settings, "other", f"{row.given_name} {row.family_name} "
                        f"{row.birth_date.isoformat()}")


def _ledger_event(settings: Settings, row: StatusCheckRow, org: OrganisationRow,
                  reply: Reply, started: dt.datetime) -> AuditEvent:
    """A disclosure whenever the body may have reached the Home Office; otherwise a
    failed status-check step naming no one (nothing left)."""
    reached = reply.reached
    details: dict[str, str | int | None] = {
        "organisation_disclosed": org.code, "fields_sent": ",".join(row.fields_sent),
        "outcome": row.state, "attempts": row.attempts}
    if reached:
        details["disclosed_at"] = started.astimezone(dt.UTC).isoformat()
    return AuditEvent(
        type="disclosure" if reached else "status-check", action="E",
        outcome="success" if reply.answer is not None else "failure",
        recorded=utcnow(), agent=Agent(row.requested_by, org.code, "overseas_visitors_manager"),
        what=f"status-check/{row.id}", purpose=row.purpose, agreement=row.agreement,
        agreement_version=row.agreement_version,
        subjects=(subject(settings, row),) if reached else (), details=details)


class CheckRefused(Forbidden):
    """The agreement refused a check; the refusal is kept as check ``check_id``."""

    def __init__(self, diagnostics: str, check_id: int) -> None:
        super().__init__(diagnostics)
        self.check_id = check_id


def _refusal_event(row: StatusCheckRow, org: OrganisationRow) -> AuditEvent:
    """A refused check: nothing left, so it names no one; the clauses are its reasons."""
    clauses = ",".join(clause for clause, _ in row.refusal or [] if clause)
    return AuditEvent(
        type="status-check", action="E", outcome="refused", recorded=utcnow(),
        agent=Agent(row.requested_by, org.code, "overseas_visitors_manager"),
        what=f"status-check/{row.id}", purpose=row.purpose, agreement=row.agreement,
        agreement_version=row.agreement_version, subjects=(),
        details={"outcome": "refused", "clauses": clauses, "fields_sent": ""})


def refusal_message(row: StatusCheckRow) -> str:
    """A refused check's reasons in words: the agreement, its version and each clause."""
    reasons = "; ".join(f"{clause}: {text}" if clause else text
                        for clause, text in row.refusal or [])
    return (f"the checking-service agreement ({row.agreement}, version "
            f"{row.agreement_version}) does not allow this check: {reasons}; no check was "
            f"sent (the refusal is kept as check #{row.id})")


def raise_if_failed(row: StatusCheckRow) -> None:
    """The edge's one plain message for a check that got no answer (nothing is charged)."""
    if row.state == "refused":
        raise CheckRefused(refusal_message(row), row.id)
    keep = (f"the check is kept as #{row.id}: ask again with the same Idempotency-Key to "
            "send it again (it is never charged twice)")
    if row.state == "timed_out":
        raise GatewayTimeout(f"{row.failure} ({row.attempts} attempts); nothing was charged; "
                             f"{keep}")
    if row.state in ("not_sent", "failed"):
        sent = "nothing was sent" if row.state == "not_sent" else "the check failed there"
        raise ServiceUnavailable(f"{row.failure}; {sent} and nothing was charged; {keep}")


def history(session: Session, organisation: str, limit: int = 50,
            offset: int = 0) -> tuple[int, list[StatusCheckRow]]:
    """An organisation's checks, newest first."""
    org = get_organisation(session, organisation)
    total, rows = repository.checks_of(session, org.id, limit, offset)
    return total, list(rows)


def check_of(session: Session, organisation: str, check_id: int) -> StatusCheckRow:
    """One of an organisation's checks.

    Raises:
        NotFound: no such check, or another organisation's (the same answer for both).
    """
    org = get_organisation(session, organisation)
    row = repository.check(session, check_id)
    if row is None or row.organisation_id != org.id:
        raise NotFound(f"{org.code} has no status check {check_id}")
    return row


def memoranda(session: Session) -> list[tuple[OrganisationRow, MemorandumRow]]:
    """Every signed memorandum, oldest first."""
    return [(org, memo) for org, memo in repository.memoranda(session)]
