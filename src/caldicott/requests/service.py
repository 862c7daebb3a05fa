"""Use cases of the trace-request lifecycle, up to the trace. Services never commit.

The National Back Office's order: receive, check the procedure and the
agreement (:func:`submit`, :func:`intake_step`), a tracer validates
(:func:`validate`), a reviewer records the public-interest decision
(:func:`record_public_interest`) — all before any patient data is touched —
then the trace, the release check and the review (:mod:`caldicott.requests.tracing`).

Each step runs in one transaction with its ledger entries and moves the
request with a conditional update: a step replayed after a crash, or raced by
another worker, either does the work once or finds it done (:class:`StepLost`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from typing import Any

from sqlalchemy.orm import Session

from caldicott.access.core.policy import Verdict, can, ensure
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action, Role
from caldicott.agreements import service as agreements
from caldicott.agreements.core import (
    Agreement,
    AgreementVersion,
    Channel,
    Decision,
    Outcome,
    decide,
)
from caldicott.agreements.core import TraceRequest as PolicyRequest
from caldicott.agreements.service import record_decision
from caldicott.errors import CaldicottError, Conflict, Unprocessable
from caldicott.ledger.core.events import Agent, digest_text
from caldicott.matching import service as matching
from caldicott.requests import audit, repository
from caldicott.requests.core import procedure
from caldicott.requests.core.convictions import (
    Conviction,
    ConvictionError,
    qualifying_sentence_months,
    validate_conviction,
)
from caldicott.requests.core.states import Status
from caldicott.requests.models import PublicInterestRow, TraceRequestRow
from caldicott.requests.schemas import PublicInterestIn, TraceRequestIn
from caldicott.settings import Settings
from caldicott.signatories.core.procedure import ProcedureReason

log = logging.getLogger(__name__)
#: Requesters whose requests serve enforcement: a restricted patient releases them nothing.
ENFORCEMENT_KINDS = frozenset({"home_office", "police", "nca"})


class StepLost(CaldicottError):
    """Another worker moved the request first; the caller rolls back (HTTP 409)."""

    status_code = 409
    fhir_code = "conflict"
    pds_code = "CONFLICT"


def agreement_named(session: Session, settings: Settings, name: str) -> Agreement:
    """The agreement a stored request was received under (only agreements in force)."""
    found = agreements.packs_in_force(session, settings).agreements.get(name)
    if found is None or Channel.TRACE not in found.channels:
        raise Unprocessable(f"the tracing agreement {name!r} is no longer in force")
    return found


def fingerprint(item: TraceRequestIn) -> str:
    body = json.dumps(item.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(body).hexdigest()


def receiving_day(settings: Settings, item: TraceRequestIn, today: dt.date | None) -> dt.date:
    """The day a request is judged as of: the day caldicott receives it.

    Only a replay of history (``settings.replay_history``: the demo's scenario)
    may give another date; a live service refuses one rather than let a
    requester choose the agreement version by back-dating.
    """
    today = today or dt.date.today()
    if item.request_date is None:
        return today
    if not settings.replay_history:
        raise Unprocessable("request_date cannot be set: a request is judged as of the day "
                            "caldicott receives it (only a replay of history may set a date)")
    if item.request_date > today:
        raise Unprocessable(f"request_date {item.request_date.isoformat()} is in the future")
    return item.request_date


def _facts(item: TraceRequestIn) -> dict[str, Any]:
    keep = ("birth_date_partial", "birth_date_from", "birth_date_to", "aliases",
            "previous_names", "nationality", "home_office_reference", "suspected_offence",
            "convictions", "deportation_stage", "deportation_stage_date", "risk_to_public",
            "court_order", "date_of_last_contact", "alternatives_tried")
    dumped: dict[str, Any] = item.model_dump(mode="json", include=set(keep))
    return dumped


def _new_row(principal: Principal, item: TraceRequestIn, day: dt.date, agreement: str,
             key: str | None, batch_id: str | None) -> TraceRequestRow:
    _check_subject(item, day)
    if item.birth_date_from and item.birth_date_to and item.birth_date_from > item.birth_date_to:
        raise Unprocessable("birth_date_from is after birth_date_to")
    qualifying = qualifying_sentence_months(_convictions(item, day))
    return TraceRequestRow(
        organisation_id=principal.organisation_id, requested_by=principal.user_id,
        idempotency_key=key, fingerprint=fingerprint(item), batch_id=batch_id,
        request_date=day, agreement=agreement, given_name=item.given_name,
        family_name=item.family_name, birth_date=item.birth_date, sex=item.sex,
        postcode=item.postcode, address_line=item.address_line, purpose=item.purpose,
        category=item.category, case_reference=item.case_reference,
        justification=item.justification, custodial_sentence_months=qualifying,
        risk_to_public=item.risk_to_public is not None,
        deportation_considered=item.deportation_stage != "none",
        alternatives_exhausted=item.alternatives_exhausted,
        requested_fields=sorted(set(item.requested_fields)),
        requesting_officer=item.requesting_officer,
        countersigning_officer=item.countersigning_officer, urgency=item.urgency,
        subject_vulnerable=item.subject_vulnerable or item.category == "vulnerable_person",
        facts=_facts(item), status=Status.RECEIVED.value)


def _check_subject(item: TraceRequestIn, day: dt.date) -> None:
    """Refuse (422) a subject with nothing identifying left, saying which fields are
    missing; any other subject is traced with what it carries."""
    try:
        matching.check_request(item.given_name, item.family_name, item.birth_date,
                               item.postcode, item.sex, today=day)
    except matching.Untraceable as error:
        partial = item.birth_date_partial or item.birth_date_from or item.birth_date_to
        raise matching.Untraceable(error.diagnostics + (
            "; a partial date of birth or a range is recorded but cannot be compared"
            if partial else "")) from None


def _convictions(item: TraceRequestIn, day: dt.date) -> list[Conviction]:
    """The request's convictions as the s.38 reading takes them (impossible ones refused)."""
    try:
        return [validate_conviction(Conviction(
            c.offence, c.statute, c.court, c.date, c.sentence_type, c.length_months,
            c.consecutive_group, c.activated), today=day) for c in item.convictions]
    except ConvictionError as error:
        raise Unprocessable(f"convictions: {error}") from None


def _agreement_for(session: Session, settings: Settings, principal: Principal,
                   day: dt.date) -> Agreement:
    return agreements.agreement_for_request(
        session, settings, Channel.TRACE, principal.organisation_kind,
        principal.organisation_code, day)


def _received(settings: Settings, principal: Principal,
              rows: list[TraceRequestRow]) -> list[audit.AuditEvent]:
    agent = audit.agent_of(principal, Role.REQUESTING_OFFICER.value)
    return [audit.event(settings, "trace-request-received", r, agent, action="C",
                        details={"status": "received", "in_batch": r.batch_id is not None,
                                 "urgency": r.urgency})
            for r in rows]


def ensure_can_submit(principal: Principal) -> None:
    ensure(can(principal, Action.SUBMIT_REQUEST, principal.organisation_id))


def submit(session: Session, settings: Settings, principal: Principal, item: TraceRequestIn,
           key: str | None = None, today: dt.date | None = None) -> tuple[TraceRequestRow, bool]:
    """Receive one request (or find the one an earlier try with the same key made).

    The agreement follows from the channel, the requester's organisation and
    the day: a body that is not a party to an agreement in force is refused.
    Returns the row and whether it is new; the same ``key`` with a different
    body is a :class:`Conflict`.

    Example:
        >>> row, created = submit(session, settings, officer, item, "k-1")  # doctest: +SKIP
        >>> row.status, created  # doctest: +SKIP
        ('received', True)
    """
    ensure_can_submit(principal)
    if key is not None:
        existing = repository.by_idempotency_key(session, principal.user_id, key)
        if existing is not None:
            if existing.fingerprint != fingerprint(item):
                raise Conflict("this Idempotency-Key was used for a different request")
            return existing, False
    day = receiving_day(settings, item, today)
    agreement = _agreement_for(session, settings, principal, day)
    row = _new_row(principal, item, day, agreement.id, key, None)
    repository.add_all(session, [row])
    audit.record(session, settings, _received(settings, principal, [row]))
    return row, True


def submit_batch(session: Session, settings: Settings, principal: Principal,
                 items: list[TraceRequestIn], key: str | None = None,
                 today: dt.date | None = None) -> tuple[str, list[int], bool]:
    """Receive a batch in one transaction: every row, or (on any bad row) none.

    An Idempotency-Key covers the whole batch: a retry with the same key and
    the same requests finds the batch; with any request changed it is a 409.
    Returns the batch id, the request ids and whether the batch is new.
    """
    ensure_can_submit(principal)
    if key is not None:
        first = repository.by_idempotency_key(session, principal.user_id, f"{key}#0")
        if first is not None and first.batch_id:
            earlier = repository.batch_rows(session, first.batch_id)
            if [r.fingerprint for r in earlier] != [fingerprint(i) for i in items]:
                raise Conflict("this Idempotency-Key was used for a different batch")
            return first.batch_id, [r.id for r in earlier], False
    batch_id = uuid.uuid4().hex
    rows, problems = [], []
    for number, item in enumerate(items):
        try:
            day = receiving_day(settings, item, today)
            agreement = _agreement_for(session, settings, principal, day)
            rows.append(_new_row(principal, item, day, agreement.id,
                                 f"{key}#{number}" if key else None, batch_id))
        except CaldicottError as error:
            problems.append(f"request {number}: {error.diagnostics}")
    if problems:
        raise Unprocessable("; ".join(problems[:20]) + (" ..." if len(problems) > 20 else ""))
    repository.add_all(session, rows)
    audit.record(session, settings, _received(settings, principal, rows))
    return batch_id, [r.id for r in rows], True


def policy_request(row: TraceRequestRow, restricted: bool = False) -> PolicyRequest:
    """The facts the agreement's clauses read (no identifiers)."""
    facts = row.facts or {}
    risk = facts.get("risk_to_public") or {}
    return PolicyRequest(
        "requester", frozenset(row.requested_fields), patient_restricted=restricted,
        category=row.category, deportation_considered=row.deportation_considered,
        custodial_sentence_months=row.custodial_sentence_months,
        risk_to_public=row.risk_to_public, alternatives_exhausted=row.alternatives_exhausted,
        purpose=row.purpose, qualifying_sentence_months=row.custodial_sentence_months,
        deportation_stage=str(facts.get("deportation_stage") or "none"),
        risk_category=str(risk.get("category") or ""))


def decision_values(session: Session, row: TraceRequestRow, request: PolicyRequest,
                    decision: Decision) -> dict[str, Any]:
    stored = record_decision(session, request, decision, request_ref=f"trace-request/{row.id}")
    return {"decision_id": stored.id, "decided_version": decision.version,
            "decision_hash": decision.content_hash,
            "released_fields": sorted(decision.released_fields),
            "reasons": [{"clause": u.clause_id, "text": u.text} for u in decision.unmet]}


def _procedure_problems(session: Session, row: TraceRequestRow,
                        version: AgreementVersion | None) -> list[ProcedureReason]:
    from caldicott.signatories.service import check_signatures

    facts = row.facts or {}
    kind = repository.organisation_kind(session, row.organisation_id)
    required = (version.countersignature or None) if version else None
    found = check_signatures(session, row.organisation_id, kind, row.requesting_officer,
                             row.countersigning_officer, row.request_date, required,
                             countersignature_required=required is not None)
    problems = list(found)
    problems += procedure.identification_problems(procedure.Subject(
        row.given_name, row.family_name, row.birth_date, row.postcode,
        partial_birth_date=bool(facts.get("birth_date_partial") or facts.get("birth_date_from"))))
    problems += procedure.basis_problems(
        needs_court_order=kind == "court", has_court_order=bool(facts.get("court_order")),
        has_offence=bool(facts.get("suspected_offence")),
        has_conviction=bool(facts.get("convictions")))
    return problems


def _step_events(settings: Settings, row: TraceRequestRow, kind: str, target: Status,
                 agent: Agent, **details: Any) -> list[audit.AuditEvent]:
    closes = target in (Status.REJECTED_PROCEDURE, Status.REFUSED_AGREEMENT,
                        Status.REFUSED_PUBLIC_INTEREST)
    events = [audit.event(settings, kind, row, agent, action="E",
                          outcome="refused" if closes else "success",
                          details={"status": target.value, **details})]
    if closes:
        events.append(audit.closed(settings, row, agent))
    return events


def intake_step(session: Session, settings: Settings, request_id: int,
                today: dt.date | None = None) -> Status | None:
    """Check a received request's procedure, then decide it under its agreement.

    A queued request (its version suspended) is decided again as of ``today``:
    that is how a resumption or a withdrawal reaches it. Returns the new status,
    or None when there was nothing to do.
    """
    row = repository.get(session, request_id)
    if row is None or row.status not in (Status.RECEIVED, Status.QUEUED):
        return None
    agreement = agreement_named(session, settings, row.agreement)
    if row.status == Status.RECEIVED:
        problems = _procedure_problems(session, row, agreement.version_on(row.request_date))
        if problems:
            return _reject(session, settings, row, problems, audit.SYSTEM, None)
    request = policy_request(row)
    decision = decide(request, row.request_date, agreement)
    if decision.outcome is Outcome.QUEUE and row.status == Status.QUEUED:
        decision = decide(request, today or dt.date.today(), agreement)
        if decision.outcome is Outcome.QUEUE:
            return None  # still suspended: nothing changes, nothing to record
    target = {Outcome.PERMIT: Status.AWAITING_VALIDATION, Outcome.DENY: Status.REFUSED_AGREEMENT,
              Outcome.QUEUE: Status.QUEUED}[decision.outcome]
    if not repository.advance(session, row, target,
                              **decision_values(session, row, request, decision)):
        raise StepLost(f"trace request {request_id} was decided by another worker")
    audit.record(session, settings, _step_events(
        settings, row, "trace-request-decided", target, audit.SYSTEM,
        outcome=decision.outcome.value, clauses=",".join(u.clause_id for u in decision.unmet)))
    return target


def _reject(session: Session, settings: Settings, row: TraceRequestRow,
            problems: list[ProcedureReason], agent: Agent,
            tracer: Principal | None) -> Status:
    values: dict[str, Any] = {"procedure_reasons": [procedure.as_json(p) for p in problems]}
    if tracer is not None:
        values.update(validated_by=tracer.user_id, validated_at=audit.utcnow())
    if not repository.advance(session, row, Status.REJECTED_PROCEDURE, **values):
        raise StepLost(f"trace request {row.id} was validated by someone else")
    audit.record(session, settings, _step_events(
        settings, row, "trace-request-validated", Status.REJECTED_PROCEDURE, agent,
        reasons=",".join(sorted({p.code for p in problems}))))
    return Status.REJECTED_PROCEDURE


def version_of(session: Session, settings: Settings, row: TraceRequestRow) -> AgreementVersion:
    """The agreement version the request was decided under."""
    agreement = agreement_named(session, settings, row.agreement)
    version = agreement.version_named(row.decided_version or "") or agreement.version_on(
        row.request_date)
    if version is None:
        raise Unprocessable(f"trace request {row.id} has no agreement version in force")
    return version


def validate(session: Session, settings: Settings, tracer: Principal, request_id: int,
             accept: bool, reasons: list[str], note: str) -> Status:
    """A tracer checks the procedure by hand: accept, or reject with reason codes.

    Accepted, the request goes to the public-interest test (or, where its
    agreement needs none, such as a court order, straight to the trace).
    """
    ensure(can(tracer, Action.VALIDATE_REQUEST))
    row = repository.get(session, request_id)
    if row is None or row.status != Status.AWAITING_VALIDATION:
        raise Conflict(f"trace request {request_id} is "
                       f"{row.status if row else 'missing'}, not awaiting validation")
    agent = audit.agent_of(tracer, Role.TRACER.value)
    if not accept:
        codes = reasons or ["procedure_not_followed"]
        problems = [procedure.reason(c) for c in codes]
        problems.append(ProcedureReason("tracer-note", note))
        return _reject(session, settings, row, problems, agent, tracer)
    version = version_of(session, settings, row)
    target = (Status.AWAITING_PUBLIC_INTEREST if version.public_interest_test
              else Status.APPROVED_FOR_TRACE)
    if not repository.advance(session, row, target, validated_by=tracer.user_id,
                              validated_at=audit.utcnow(), procedure_reasons=[]):
        raise StepLost(f"trace request {request_id} was validated by someone else")
    audit.record(session, settings, _step_events(
        settings, row, "trace-request-validated", target, agent))
    return target


def public_interest_record(row: TraceRequestRow, principal: Principal, record: PublicInterestIn,
                           at: dt.datetime) -> tuple[str, str]:
    """The canonical JSON of the decision and its SHA-256 (what the ledger binds)."""
    body = {"request": row.id, "decided_by": principal.user_id,
            "decided_at": at.isoformat(), **record.model_dump(mode="json")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def public_interest_verdict(principal: Principal, row: TraceRequestRow) -> Verdict:
    """May ``principal`` record the public-interest decision on this request? (Not the
    person who made it.)"""
    allowed = can(principal, Action.REVIEW_RELEASE)
    if not allowed:
        return allowed
    if principal.user_id == row.requested_by:
        return Verdict(False, "you made this request; another reviewer must decide it")
    return Verdict(True, "you may record the public-interest decision")


def record_public_interest(session: Session, settings: Settings, reviewer: Principal,
                           request_id: int, record: PublicInterestIn) -> Status:
    """A reviewer's public-interest decision, as a structured record, before the trace.

    Example:
        >>> record_public_interest(session, settings, guardian, 42, record)  # doctest: +SKIP
        <Status.APPROVED_FOR_TRACE: 'approved_for_trace'>
    """
    ensure(can(reviewer, Action.REVIEW_RELEASE))
    row = repository.get(session, request_id)
    if row is None or row.status != Status.AWAITING_PUBLIC_INTEREST:
        raise Conflict(f"trace request {request_id} is "
                       f"{row.status if row else 'missing'}, not awaiting the public-interest test")
    verdict = public_interest_verdict(reviewer, row)
    if not verdict:
        raise Conflict(verdict.reason)
    now = audit.utcnow()
    text, digest = public_interest_record(row, reviewer, record, now)
    disclose = record.decision == "disclose"
    target = Status.APPROVED_FOR_TRACE if disclose else Status.REFUSED_PUBLIC_INTEREST
    values: dict[str, Any] = {}
    if not disclose:
        values["reasons"] = [{"clause": "public-interest", "text": record.proportionality}]
    if not repository.advance(session, row, target, **values):
        raise StepLost(f"trace request {request_id} was decided by someone else")
    repository.add_public_interest(session, PublicInterestRow(
        request_id=row.id, decided_by=reviewer.user_id, decided_at=now,
        decision=record.decision, record=text, sha256=digest))
    audit.record(session, settings, _step_events(
        settings, row, "trace-request-public-interest", target,
        audit.agent_of(reviewer, Role.REVIEWER.value), decision=record.decision,
        public_interest_sha256=digest_text(digest)))
    return target


def process_received(session: Session, settings: Settings, request_id: int) -> None:
    """Check and decide a request just received, in the transaction that received it.

    A step that cannot run yet is undone with its entries (a savepoint), and
    the request stays received, for the worker to finish.
    """
    with audit.held(session, settings) as events:
        try:
            with session.begin_nested():
                intake_step(session, settings, request_id)
        except CaldicottError as error:
            events.clear()
            session.expire_all()  # loaded rows may show what the savepoint undid
            log.warning("trace request %s left pending: %s", request_id, error.pds_code)
