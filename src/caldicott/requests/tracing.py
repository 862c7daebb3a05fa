"""Use cases after the public-interest test: the trace, the release check, the review.

Every traced outcome waits for a person — a match, no trace, too many — so the
time a request takes tells the requester nothing about the person: only a
clean single match under an agreement that needs no sign-off (a court order)
is released at once. A restricted, deceased, child or vulnerable subject goes
to the Caldicott Guardian; a restricted patient's match releases nothing to an
enforcement requester. Nobody who requested or ever traced a request approves
it, and a version asking for two reviewers needs two different ones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from caldicott.access.core.policy import Verdict, can, ensure, may_review
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action, Role
from caldicott.agreements.core import Approval, Outcome, decide_under
from caldicott.errors import Conflict
from caldicott.ledger.core.events import digest_text
from caldicott.matching import service as matching
from caldicott.register.records import PatientRecord
from caldicott.register.repository import load_records
from caldicott.requests import audit, repository
from caldicott.requests.core import procedure
from caldicott.requests.core.release import release_resource, tells_something_new
from caldicott.requests.core.states import Status
from caldicott.requests.models import TraceReleaseRow, TraceRequestRow, TraceRunRow
from caldicott.requests.service import (
    ENFORCEMENT_KINDS,
    StepLost,
    decision_values,
    policy_request,
    version_of,
)
from caldicott.settings import Settings

#: Never released about a person who has died (the address is not theirs any more to give).
DECEASED_WITHHELD = frozenset({"address", "gp_practice", "primary_care_area"})


def _query(row: TraceRequestRow, given: str | None,
           family: str | None) -> matching.TraceRequest:
    return matching.check_request(given, family, row.birth_date, row.postcode, row.sex,
                                  today=row.request_date)


def trace_again(session: Session, row: TraceRequestRow, version: int | None = None) -> Any:
    """Trace under the name given, then (if nobody was found) under each alias; with
    model ``version`` (default: the active one). Returns a matching ``TraceResult``."""
    result = matching.trace_request(session, _query(row, row.given_name, row.family_name),
                                    version=version)
    for alias in (row.facts or {}).get("aliases") or ():
        if result.outcome.value != "no_trace":
            break
        result = matching.trace_request(
            session, _query(row, alias.get("given_name"), alias["family_name"]),
            version=version)
    return result


def route_of(row: TraceRequestRow, record: PatientRecord | None) -> tuple[str, list[str]]:
    """Who must look at a match: a reviewer, or the Caldicott Guardian (and why).

    Example:
        >>> route_of(row, None)  # doctest: +SKIP
        ('release', [])
    """
    reasons = []
    if record is not None and record.restricted:
        reasons.append("restricted")
    if record is not None and record.death_date is not None:
        reasons.append("deceased")
    if record is not None and procedure.is_child(record.birth_date, row.request_date):
        reasons.append("child")
    if row.subject_vulnerable:
        reasons.append("vulnerable")
    return ("guardian" if reasons else "release"), reasons


def trace_step(session: Session, settings: Settings, request_id: int,
               tracer: Principal | None = None) -> Status | None:
    """Trace a request approved for tracing (or, by a tracer, re-trace one awaiting review)."""
    row = repository.get(session, request_id)
    allowed = ((Status.APPROVED_FOR_TRACE, Status.AWAITING_REVIEW) if tracer
               else (Status.APPROVED_FOR_TRACE,))
    if row is None or row.status not in allowed:
        return None
    result = trace_again(session, row)
    margin = result.margin if result.margin == result.margin and result.margin != float(
        "inf") else None
    values: dict[str, Any] = {
        "traced_by": tracer.user_id if tracer else None, "traced_at": audit.utcnow(),
        "trace_outcome": result.outcome.value, "match_probability": result.match_probability,
        "match_margin": margin, "model_version": result.model_version,
        "release_bar": result.bar_json(),
        "matched_nhs_number": result.nhs_number, "route": "release", "route_reasons": [],
        "release_decision_id": None, "release_check_fields": None}
    target, approval = Status.AWAITING_REVIEW, Approval.ONE_REVIEWER
    if result.nhs_number is not None:
        approval = _release_check(session, settings, row, result.nhs_number, values)
    release_now = (approval is Approval.NONE and values["route"] == "release"
                   and bool(values["release_check_fields"]))
    if not repository.advance(session, row, target, **values):
        raise StepLost(f"trace request {request_id} was traced by another worker")
    repository.add_run(session, TraceRunRow(
        request_id=row.id, traced_by=values["traced_by"], traced_at=values["traced_at"],
        outcome=result.outcome.value, match_probability=result.match_probability,
        model_version=result.model_version))
    agent = audit.agent_of(tracer, Role.TRACER.value) if tracer else audit.SYSTEM
    audit.record(session, settings, [audit.event(
        settings, "trace-request-traced", row, agent, action="E", details={
            "status": target.value, "trace_outcome": result.outcome.value,
            "route": values["route"], "route_reasons": ",".join(values["route_reasons"]),
            "match_probability": audit.number(result.match_probability),
            "margin_bits": audit.number(margin), "model_version": result.model_version})])
    if release_now:
        release(session, settings, request_id, reviewer=None, reason="no sign-off required",
                kind="fields")
        return Status.RELEASED
    return target


def _release_check(session: Session, settings: Settings, row: TraceRequestRow,
                   nhs_number: str, values: dict[str, Any]) -> Approval:
    """Decide again now that the patient is known; say who must look at the match."""
    record = load_records(session, [nhs_number])[nhs_number]
    values["route"], values["route_reasons"] = route_of(row, record)
    request = policy_request(row, restricted=record.restricted)
    version = version_of(session, settings, row)
    decision = decide_under(request, repository.decided_as_of(session, row) or row.request_date,
                            version)
    stored = decision_values(session, row, request, decision)
    values["release_decision_id"] = stored["decision_id"]
    values["release_check_fields"] = sorted(decision.released_fields) if (
        decision.outcome is Outcome.PERMIT) else []
    return decision.approval


def review_verdict(principal: Principal, row: TraceRequestRow, tracers: set[int]) -> Verdict:
    """May ``principal`` decide this traced request? With the reason in words.

    ``tracers`` is everyone who ever traced it (``repository.tracers_of``): separation
    of duties reaches back past a re-trace.

    Example:
        >>> review_verdict(guardian, row, {guardian.user_id}).reason  # doctest: +SKIP
        'you traced this request; another reviewer must decide it'
    """
    for verdict in (can(principal, Action.REVIEW_RELEASE),
                    may_review(principal, row.requested_by, row.traced_by)):
        if not verdict:
            return verdict
    if principal.user_id in tracers:
        return Verdict(False, "you traced this request; another reviewer must decide it")
    return Verdict(True, "you may decide this request")


def release_blocker(row: TraceRequestRow, organisation_kind: str) -> str | None:
    """Why no approval can release anything for this request, or None."""
    if row.trace_outcome != "traced" or row.matched_nhs_number is None:
        return "the trace found nobody to release: confirm no trace or refuse"
    if "restricted" in (row.route_reasons or ()) and organisation_kind in ENFORCEMENT_KINDS:
        return ("nothing about a restricted patient is released to an enforcement "
                "requester: refuse the request")
    return None


def review(session: Session, settings: Settings, principal: Principal, request_id: int,
           decision: str, reason: str, disclosure: str = "fields") -> TraceRequestRow:
    """A reviewer decides a traced request: approve (release), refuse, or confirm no trace.

    Example:
        >>> review(session, settings, guardian, 42, "approve", "proportionate").status
        ... # doctest: +SKIP
        'released'
    """
    ensure(can(principal, Action.REVIEW_RELEASE))
    row = repository.get(session, request_id)
    if row is None or row.status != Status.AWAITING_REVIEW:
        raise Conflict(f"trace request {request_id} is "
                       f"{row.status if row else 'missing'}, not awaiting review")
    tracers = repository.tracers_of(session, row.id) | (
        {row.traced_by} if row.traced_by is not None else set())
    ensure(review_verdict(principal, row, tracers))
    if decision == "confirm_no_trace":
        _close(session, settings, principal, row, _no_trace_status(row), decision, reason)
    elif decision == "refuse":
        _close(session, settings, principal, row, Status.REFUSED_AFTER_REVIEW, decision, reason)
    else:
        _approve(session, settings, principal, row, reason, disclosure)
    refreshed = repository.get(session, request_id)
    assert refreshed is not None
    return refreshed


def _no_trace_status(row: TraceRequestRow) -> Status:
    if row.trace_outcome == "no_trace":
        return Status.NO_TRACE
    if row.trace_outcome == "too_many_matches":
        return Status.TOO_MANY_MATCHES
    raise Conflict("the trace found one person: approve or refuse the release instead")


def _close(session: Session, settings: Settings, principal: Principal, row: TraceRequestRow,
           target: Status, decision: str, reason: str) -> None:
    now = audit.utcnow()
    repository.add_review(session, row.id, principal.user_id, decision, None, reason, now)
    if not repository.advance(session, row, target, reviewed_by=principal.user_id,
                              reviewed_at=now, review_decision=decision, review_reason=reason):
        raise Conflict(f"trace request {row.id} was reviewed by someone else")
    agent = audit.agent_of(principal, Role.REVIEWER.value)
    audit.record(session, settings, [
        audit.event(settings, "trace-request-reviewed", row, agent, details={
            "decision": decision, "status": target.value}),
        audit.closed(settings, row, agent)])


def _approve(session: Session, settings: Settings, principal: Principal, row: TraceRequestRow,
             reason: str, disclosure: str) -> None:
    blocker = release_blocker(row, repository.organisation_kind(session, row.organisation_id))
    if blocker is not None:
        raise Conflict(blocker)
    needed = 2 if version_of(session, settings, row).approval is Approval.TWO_REVIEWERS else 1
    now = audit.utcnow()
    earlier = repository.approvals_since(session, row.id, row.traced_at)
    if any(a.reviewer_id == principal.user_id for a in earlier):
        raise Conflict("you have already approved this release; a second, different reviewer "
                       "must approve it")
    repository.add_review(session, row.id, principal.user_id, "approve", disclosure, reason, now)
    approvals = repository.approvals_since(session, row.id, row.traced_at)
    agent = audit.agent_of(principal, Role.REVIEWER.value)
    if len(approvals) < needed:
        audit.record(session, settings, [audit.event(
            settings, "trace-request-reviewed", row, agent, details={
                "decision": "approve", "status": row.status,
                "approvals": f"{len(approvals)} of {needed}"})])
        return
    if len({a.disclosure_kind for a in approvals}) > 1:
        raise Conflict("the reviewers chose different disclosures; both must choose the same")
    release(session, settings, row.id, principal, reason, disclosure)


def would_release(row: TraceRequestRow, record: PatientRecord, kind: str = "fields"
                  ) -> tuple[bool, frozenset[str], bool, dict[str, Any]]:
    """What an approval would release: ``(deceased, fields, new_information, resource)``.

    Example:
        >>> would_release(row, record)[1]  # doctest: +SKIP
        frozenset({'address', 'date_of_birth'})
    """
    deceased = record.death_date is not None
    fields = frozenset(row.release_check_fields or ()) if kind == "fields" else frozenset()
    if deceased:
        fields = fields - DECEASED_WITHHELD
    new = tells_something_new(record, fields, row.postcode, row.address_line)
    resource = release_resource(record, fields, f"trace-release-{row.id}", new, outcome=kind,
                                deceased=deceased)
    return deceased, fields, new, resource


def release(session: Session, settings: Settings, request_id: int,
            reviewer: Principal | None, reason: str, kind: str) -> None:
    """Release once: the allowed fields (a FHIR Patient), or a less intrusive outcome."""
    row = repository.get(session, request_id)
    assert row is not None and row.matched_nhs_number is not None
    record = load_records(session, [row.matched_nhs_number])[row.matched_nhs_number]
    deceased, fields, new, resource = would_release(row, record, kind)
    target = Status.DECEASED_CONFIRMED if deceased else Status.RELEASED
    now = audit.utcnow()
    if not repository.advance(
            session, row, target, reviewed_by=reviewer.user_id if reviewer else None,
            reviewed_at=now, review_decision="approve", review_reason=reason,
            disclosure_kind=kind):
        raise Conflict(f"trace request {request_id} was reviewed by someone else")
    repository.add_release(session, TraceReleaseRow(
        request_id=request_id, released_at=now, fields=sorted(fields), resource=resource,
        new_information=new, kind=kind))
    agent = audit.agent_of(reviewer, Role.REVIEWER.value) if reviewer else audit.SYSTEM
    pit = repository.public_interest_of(session, row.id)
    audit.record(session, settings, [
        audit.event(settings, "trace-request-reviewed", row, agent,
                    details={"decision": "approve", "status": target.value}),
        audit.event(settings, "disclosure", row, agent, action="R", details={
            "fields": ",".join(sorted(fields)), "kind": kind, "new_information": new,
            "public_interest_sha256": digest_text(pit.sha256) if pit else None}),
        audit.closed(settings, row, agent)])
