"""Use cases of the trace-request lifecycle. Services never commit: the edge owns the transaction.

Each step (:func:`submit`, :func:`decide_step`, :func:`trace_step`,
:func:`review`) runs in one transaction with its ledger entry, and moves the
request with a conditional update: a step replayed after a crash, or raced by
another worker, either does the work once or finds it done (:class:`StepLost`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from caldicott.access.core.policy import may_review
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action, Role
from caldicott.access.deps import ensure
from caldicott.agreements.core import (
    Agreement,
    Approval,
    Channel,
    Decision,
    Outcome,
    PackSet,
    TraceRequest,
    decide,
    load_packs,
)
from caldicott.agreements.service import record_decision
from caldicott.errors import CaldicottError, Conflict, Unprocessable
from caldicott.matching import service as matching
from caldicott.register.repository import load_records
from caldicott.requests import audit, repository
from caldicott.requests.core.release import release_resource, tells_something_new
from caldicott.requests.core.states import Status
from caldicott.requests.models import TraceReleaseRow, TraceRequestRow
from caldicott.requests.schemas import TraceRequestIn
from caldicott.settings import Settings

log = logging.getLogger(__name__)
_TRACE_OUTCOME = {"traced": Status.AWAITING_REVIEW, "no_trace": Status.NO_TRACE,
                  "too_many_matches": Status.TOO_MANY_MATCHES}


class StepLost(CaldicottError):
    """Another worker moved the request first; the caller rolls back (HTTP 409)."""

    status_code = 409
    fhir_code = "conflict"
    pds_code = "CONFLICT"


def packs_for(settings: Settings) -> PackSet:
    """The shipped agreement packs plus any in ``<data_dir>/agreements`` (reloaded on change)."""
    folder = Path(settings.data_dir) / "agreements"
    stamp = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*.toml"))
                  ) if folder.is_dir() else ()
    return _load(str(folder), stamp)


@lru_cache(maxsize=8)
def _load(folder: str, stamp: tuple[tuple[str, int], ...]) -> PackSet:
    return load_packs(folder) if stamp else load_packs()


def agreement_for(settings: Settings, name: str) -> Agreement:
    found = packs_for(settings).agreements.get(name)
    if found is None or Channel.TRACE not in found.channels:
        raise Unprocessable(f"no tracing agreement {name!r}")
    return found


def fingerprint(item: TraceRequestIn) -> str:
    body = json.dumps(item.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(body).hexdigest()


def _new_row(principal: Principal, item: TraceRequestIn, today: dt.date,
             key: str | None, batch_id: str | None) -> TraceRequestRow:
    request_date = item.request_date or today
    if request_date > today:
        raise Unprocessable(f"request_date {request_date.isoformat()} is in the future")
    if item.birth_date > request_date:
        raise Unprocessable("birth_date is after the request's date")
    matching.check_request(item.given_name, item.family_name, item.birth_date, item.postcode,
                           item.sex, today=request_date)
    return TraceRequestRow(
        organisation_id=principal.organisation_id, requested_by=principal.user_id,
        idempotency_key=key, fingerprint=fingerprint(item), batch_id=batch_id,
        request_date=request_date, agreement=item.agreement, given_name=item.given_name,
        family_name=item.family_name, birth_date=item.birth_date, sex=item.sex,
        postcode=item.postcode, address_line=item.address_line, purpose=item.purpose,
        category=item.category, case_reference=item.case_reference,
        justification=item.justification,
        custodial_sentence_months=item.custodial_sentence_months,
        risk_to_public=item.risk_to_public, deportation_considered=item.deportation_considered,
        alternatives_exhausted=item.alternatives_exhausted,
        requested_fields=sorted(set(item.requested_fields)), status=Status.RECEIVED.value)


def _received(settings: Settings, principal: Principal,
              rows: list[TraceRequestRow]) -> list[audit.AuditEvent]:
    agent = audit.agent_of(principal, Role.REQUESTING_OFFICER.value)
    return [audit.event(settings, "trace-request-received", r, agent, action="C",
                        details={"status": "received", "in_batch": r.batch_id is not None})
            for r in rows]


def submit(session: Session, settings: Settings, principal: Principal, item: TraceRequestIn,
           key: str | None = None, today: dt.date | None = None) -> tuple[TraceRequestRow, bool]:
    """Receive one request (or find the one an earlier try with the same key made).

    Returns the row and whether it is new. The same ``key`` with a different
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
    agreement_for(settings, item.agreement)
    row = _new_row(principal, item, today or dt.date.today(), key, None)
    repository.add_all(session, [row])
    audit.record(session, settings, _received(settings, principal, [row]))
    return row, True


def process_received(session: Session, settings: Settings, request_id: int) -> None:
    """Decide and trace a request just received, in the transaction that received it.

    The steps are those :mod:`caldicott.requests.worker` runs one transaction
    each; here they share the receiving transaction (one commit, and the ledger
    entries appended together at the end), each in a savepoint: a step that
    cannot run yet (no trained model, say) is undone with its entries, and the
    request stays where the step before left it, for the worker to finish.
    """
    with audit.held(session, settings) as events:
        for step in (decide_step, trace_step):
            kept = len(events)
            try:
                with session.begin_nested():
                    step(session, settings, request_id)
            except CaldicottError as error:
                del events[kept:]
                session.expire_all()  # loaded rows may show what the savepoint undid
                log.warning("trace request %s left pending: %s", request_id, error.diagnostics)
                return


def ensure_can_submit(principal: Principal) -> None:
    from caldicott.access.core.policy import can

    ensure(can(principal, Action.SUBMIT_REQUEST, principal.organisation_id))


def submit_batch(session: Session, settings: Settings, principal: Principal,
                 items: list[TraceRequestIn], key: str | None = None,
                 today: dt.date | None = None) -> tuple[str, list[int], bool]:
    """Receive a batch in one transaction: every row, or (on any bad row) none.

    (The ledger records that a request came in a batch, not the batch id: a hex id can
    hold a ten-digit run, which the ledger rightly refuses as a possible NHS number.)

    Returns the batch id, the request ids and whether the batch is new.
    """
    ensure_can_submit(principal)
    if key is not None:
        first = repository.by_idempotency_key(session, principal.user_id, f"{key}#0")
        if first is not None and first.batch_id:
            if first.fingerprint != fingerprint(items[0]):
                raise Conflict("this Idempotency-Key was used for a different batch")
            return first.batch_id, repository.batch_ids(session, first.batch_id), False
    batch_id = uuid.uuid4().hex
    rows, problems = [], []
    for number, item in enumerate(items):
        try:
            agreement_for(settings, item.agreement)
            rows.append(_new_row(principal, item, today or dt.date.today(),
                                 f"{key}#{number}" if key else None, batch_id))
        except CaldicottError as error:
            problems.append(f"request {number}: {error.diagnostics}")
    if problems:
        raise Unprocessable("; ".join(problems[:20]) + (" ..." if len(problems) > 20 else ""))
    repository.add_all(session, rows)
    audit.record(session, settings, _received(settings, principal, rows))
    return batch_id, [r.id for r in rows], True


def policy_request(row: TraceRequestRow, requester: str, restricted: bool = False) -> TraceRequest:
    return TraceRequest(
        requester, frozenset(row.requested_fields), patient_restricted=restricted,
        category=row.category, deportation_considered=row.deportation_considered,
        custodial_sentence_months=row.custodial_sentence_months,
        risk_to_public=row.risk_to_public, alternatives_exhausted=row.alternatives_exhausted)


def _decision_values(session: Session, request: TraceRequest, decision: Decision) -> dict[str, Any]:
    stored = record_decision(session, request, decision)
    return {"decision_id": stored.id, "decided_version": decision.version,
            "decision_hash": decision.content_hash,
            "released_fields": sorted(decision.released_fields),
            "reasons": [{"clause": u.clause_id, "text": u.text} for u in decision.unmet]}


def decide_step(session: Session, settings: Settings, request_id: int,
                today: dt.date | None = None) -> Status | None:
    """Decide a received (or queued) request under the version in force on its date.

    A queued request whose version is still suspended is decided as of ``today``
    instead: that is how a resumption or a withdrawal reaches it. Returns the
    new status, or None when there was nothing to do.
    """
    row = repository.get(session, request_id)
    if row is None or row.status not in (Status.RECEIVED, Status.QUEUED):
        return None
    agreement = agreement_for(settings, row.agreement)
    request = policy_request(row, "requester")
    decision = decide(request, row.request_date, agreement)
    if decision.outcome is Outcome.QUEUE and row.status == Status.QUEUED:
        decision = decide(request, today or dt.date.today(), agreement)
        if decision.outcome is Outcome.QUEUE:
            return None  # still suspended: nothing changes, nothing to record
    target = {Outcome.PERMIT: Status.PERMITTED, Outcome.DENY: Status.REFUSED,
              Outcome.QUEUE: Status.QUEUED}[decision.outcome]
    if not repository.advance(session, row, target,
                              **_decision_values(session, request, decision)):
        raise StepLost(f"trace request {request_id} was decided by another worker")
    events = [audit.event(settings, "trace-request-decided", row, audit.SYSTEM,
                          outcome="refused" if target is Status.REFUSED else "success",
                          action="E", details={
                              "status": target.value, "outcome": decision.outcome.value,
                              "clauses": ",".join(u.clause_id for u in decision.unmet)})]
    if target is Status.REFUSED:
        events.append(audit.closed(settings, row, audit.SYSTEM))
    audit.record(session, settings, events)
    return target


def trace_step(session: Session, settings: Settings, request_id: int,
               tracer: Principal | None = None) -> Status | None:
    """Trace a permitted request (or re-trace one awaiting review, by a tracer)."""
    row = repository.get(session, request_id)
    allowed = (Status.PERMITTED, Status.AWAITING_REVIEW) if tracer else (Status.PERMITTED,)
    if row is None or row.status not in allowed:
        return None
    query = matching.check_request(row.given_name, row.family_name, row.birth_date,
                                   row.postcode, row.sex, today=row.request_date)
    result = matching.trace_request(session, query)
    target = _TRACE_OUTCOME[result.outcome.value]
    values: dict[str, Any] = {
        "traced_by": tracer.user_id if tracer else None, "traced_at": audit.utcnow(),
        "trace_outcome": result.outcome.value, "match_probability": result.match_probability,
        "match_margin": result.margin if result.margin not in (float("inf"),)
        and result.margin == result.margin else None,
        "model_version": result.model_version, "matched_nhs_number": result.nhs_number}
    approval = Approval.ONE_REVIEWER
    if result.nhs_number is not None:
        target, approval = _decide_for_patient(session, settings, row, result.nhs_number, values)
    if not repository.advance(session, row, target, **values):
        raise StepLost(f"trace request {request_id} was traced by another worker")
    agent = audit.agent_of(tracer, Role.TRACER.value) if tracer else audit.SYSTEM
    events = [audit.event(settings, "trace-request-traced", row, agent, action="E", details={
        "status": target.value, "trace_outcome": result.outcome.value,
        "match_probability": audit.number(result.match_probability),
        "margin_bits": audit.number(values["match_margin"]),
        "model_version": result.model_version})]
    if target in (Status.NO_TRACE, Status.TOO_MANY_MATCHES, Status.REFUSED):
        events.append(audit.closed(settings, row, agent))
    audit.record(session, settings, events)
    if target is Status.AWAITING_REVIEW and approval is Approval.NONE:
        release(session, settings, request_id, reviewer=None, reason="no sign-off required")
        return Status.RELEASED
    return target


def _decide_for_patient(session: Session, settings: Settings, row: TraceRequestRow,
                        nhs_number: str, values: dict[str, Any]) -> tuple[Status, Approval]:
    """Decide again now that the patient is known: a restricted record loses address and GP."""
    restricted = repository.is_restricted(session, nhs_number)
    request = policy_request(row, "requester", restricted=restricted)
    # As of the date the request was decided (a queued one may have been decided later).
    as_of = repository.decided_as_of(session, row) or row.request_date
    decision = decide(request, as_of, agreement_for(settings, row.agreement))
    if restricted or decision.outcome is not Outcome.PERMIT:
        values.update(_decision_values(session, request, decision))
    if decision.outcome is not Outcome.PERMIT:
        return Status.REFUSED, decision.approval
    return Status.AWAITING_REVIEW, decision.approval


def review(session: Session, settings: Settings, principal: Principal, request_id: int,
           approve: bool, reason: str) -> TraceRequestRow:
    """A reviewer approves (and so releases) or refuses a traced request.

    Example:
        >>> review(session, settings, guardian, 42, True, "proportionate").status  # doctest: +SKIP
        'released'
    """
    row = repository.get(session, request_id)
    assert row is not None
    if row.status != Status.AWAITING_REVIEW:
        raise Conflict(f"trace request {request_id} is {row.status}, not awaiting review")
    ensure(may_review(principal, row.requested_by, row.traced_by))
    if approve:
        release(session, settings, request_id, principal, reason)
    else:
        now = audit.utcnow()
        if not repository.advance(session, row, Status.REFUSED,
                                  reviewed_by=principal.user_id, reviewed_at=now,
                                  review_decision="refuse", review_reason=reason):
            raise Conflict(f"trace request {request_id} was reviewed by someone else")
        agent = audit.agent_of(principal, Role.REVIEWER.value)
        audit.record(session, settings, [
            audit.event(settings, "trace-request-reviewed", row, agent, outcome="refused",
                        details={"decision": "refuse", "status": "refused"}),
            audit.closed(settings, row, agent)])
    refreshed = repository.get(session, request_id)
    assert refreshed is not None
    return refreshed


def release(session: Session, settings: Settings, request_id: int,
            reviewer: Principal | None, reason: str) -> None:
    """Release the minimal FHIR Patient, once: a conditional update and the release's key."""
    row = repository.get(session, request_id)
    assert row is not None and row.matched_nhs_number is not None
    record = load_records(session, [row.matched_nhs_number])[row.matched_nhs_number]
    fields = frozenset(row.released_fields or ())
    if record.restricted:
        fields = fields - {"address", "gp_practice"}
    new = tells_something_new(record, fields, row.postcode, row.address_line)
    resource = release_resource(record, fields, f"trace-release-{row.id}", new)
    now = audit.utcnow()
    if not repository.advance(
            session, row, Status.RELEASED, reviewed_by=reviewer.user_id if reviewer
            else None, reviewed_at=now, review_decision="approve", review_reason=reason):
        raise Conflict(f"trace request {request_id} was reviewed by someone else")
    repository.add_release(session, TraceReleaseRow(
        request_id=request_id, released_at=now, fields=sorted(fields), resource=resource,
        new_information=new))
    agent = audit.agent_of(reviewer, Role.REVIEWER.value) if reviewer else audit.SYSTEM
    audit.record(session, settings, [
        audit.event(settings, "trace-request-reviewed", row, agent,
                    details={"decision": "approve", "status": "released"}),
        audit.event(settings, "disclosure", row, agent, action="R", details={
            "fields": ",".join(sorted(fields)), "new_information": new}),
        audit.closed(settings, row, agent)])

