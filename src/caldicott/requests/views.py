"""Who may see which request, and what of it: rows to wire shapes.

An officer sees only their own organisation's requests (another's is a 404:
its existence is not theirs to know), and of each only what a requester may
know: received, under consideration, refused before the trace (with the
reasons), released (the allowed fields), or closed with nothing released — a
no-trace, too many matches and a refusal after review read exactly alike.
Staff who validate, review or audit see everything the request asserted and
every step. The matched NHS number is never shown to anyone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy.orm import Session

from caldicott.access.core.policy import can
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action
from caldicott.access.deps import ensure
from caldicott.errors import NotFound
from caldicott.requests import repository
from caldicott.requests.core.states import (
    REFUSED_BEFORE_TRACE,
    Status,
    is_closed,
    requester_status,
)
from caldicott.requests.models import (
    PublicInterestRow,
    TraceReleaseRow,
    TraceRequestRow,
    TraceReviewRow,
    TraceRunRow,
)
from caldicott.requests.schemas import (
    ConvictionIn,
    CourtOrderIn,
    DecisionOut,
    FactsOut,
    OffenceIn,
    PersonName,
    ProcedureOut,
    PublicInterestOut,
    Reason,
    RefusalOut,
    ReleaseBarOut,
    ReleaseOut,
    ReviewOut,
    RiskIn,
    SubjectOut,
    TraceOut,
    TraceRequestOut,
    TraceRunOut,
)

_REFUSAL_KIND = {Status.REJECTED_PROCEDURE: "procedure", Status.REFUSED_AGREEMENT: "agreement",
                 Status.REFUSED_PUBLIC_INTEREST: "public_interest"}


def visible(session: Session, principal: Principal, request_id: int) -> TraceRequestRow:
    """The request, if ``principal`` may read it (403 if they may read none, else 404)."""
    ensure(can(principal, Action.READ_REQUEST))
    row = repository.get(session, request_id)
    if row is None or not can(principal, Action.READ_REQUEST, row.organisation_id):
        raise NotFound(f"no trace request {request_id} that you may see")
    return row


def organisation_scope(principal: Principal) -> int | None:
    """Whose requests ``principal`` may list: None for every organisation's, else their own
    organisation's id (an officer, or an auditor whose reach is their organisation)."""
    return None if can(principal, Action.READ_REQUEST, -1) else principal.organisation_id


def is_staff(principal: Principal) -> bool:
    """Those who validate, trace, review or audit for every organisation see every step.

    An auditor or reviewer whose reach is their own organisation only (an auditor of
    the Home Office) sees requests as the requester does: the trace is the custodian's
    business until a release.
    """
    return any(bool(can(principal, action, organisation_id=-1)) for action in (
        Action.VALIDATE_REQUEST, Action.RUN_TRACE, Action.REVIEW_RELEASE, Action.READ_LEDGER))


def render(session: Session, principal: Principal,
           rows: Sequence[TraceRequestRow]) -> list[TraceRequestOut]:
    codes = {principal.organisation_id: principal.organisation_code}  # an officer's own
    codes.update(repository.organisation_codes(
        session, {r.organisation_id for r in rows} - codes.keys()))
    released = [r.id for r in rows if r.status in (Status.RELEASED, Status.DECEASED_CONFIRMED)]
    releases = repository.releases_of(session, released)
    staff = is_staff(principal)
    ids = [r.id for r in rows] if staff else []
    reviews = repository.reviews_of(session, ids)
    runs = repository.runs_of(session, ids)
    records = repository.public_interest_of_many(session, ids)
    out = []
    for row in rows:
        shown = _common(row, codes.get(row.organisation_id, "?"), releases.get(row.id),
                        principal, staff)
        if staff:
            shown = _with_staff_blocks(shown, row, reviews.get(row.id, []),
                                       runs.get(row.id, []), records.get(row.id))
        out.append(shown)
    return out


def _common(row: TraceRequestRow, organisation: str, release: TraceReleaseRow | None,
            principal: Principal, staff: bool) -> TraceRequestOut:
    status = Status(row.status)
    show_release = release is not None and bool(
        can(principal, Action.READ_DISCLOSURE, row.organisation_id))
    facts = row.facts or {}
    return TraceRequestOut(
        id=row.id, status=status.value if staff else requester_status(status).value,
        internal_status=status.value if staff else None, closed=is_closed(row.status),
        organisation=organisation, requested_by=row.requested_by, batch_id=row.batch_id,
        received_at=row.received_at, request_date=row.request_date, agreement=row.agreement,
        category=row.category, purpose=row.purpose, case_reference=row.case_reference,
        urgency=row.urgency, requested_fields=list(row.requested_fields),
        subject=SubjectOut(
            given_name=row.given_name, family_name=row.family_name, birth_date=row.birth_date,
            birth_date_partial=facts.get("birth_date_partial"),
            birth_date_from=facts.get("birth_date_from"),
            birth_date_to=facts.get("birth_date_to"), sex=row.sex, postcode=row.postcode,
            address_line=row.address_line,
            aliases=[PersonName(**n) for n in facts.get("aliases") or ()],
            previous_names=[PersonName(**n) for n in facts.get("previous_names") or ()],
            nationality=facts.get("nationality"),
            home_office_reference=facts.get("home_office_reference")),
        facts=_facts(row), decision=_decision(row), refusal=_refusal(row),
        release=ReleaseOut(released_at=release.released_at, kind=release.kind,
                           fields=list(release.fields), new_information=release.new_information,
                           resource=release.resource) if show_release and release else None,
        procedure=None, public_interest=None, trace=None, reviews=None)


def _facts(row: TraceRequestRow) -> FactsOut:
    facts = row.facts or {}
    offence, risk, order = (facts.get(k) for k in ("suspected_offence", "risk_to_public",
                                                     "court_order"))
    return FactsOut(
        justification=row.justification,
        suspected_offence=OffenceIn(**offence) if offence else None,
        convictions=[ConvictionIn(**c) for c in facts.get("convictions") or ()],
        qualifying_sentence_months=row.custodial_sentence_months,
        deportation_stage=str(facts.get("deportation_stage") or "none"),
        deportation_stage_date=facts.get("deportation_stage_date"),
        risk_to_public=RiskIn(**risk) if risk else None,
        court_order=CourtOrderIn(**order) if order else None,
        subject_vulnerable=row.subject_vulnerable,
        date_of_last_contact=facts.get("date_of_last_contact"),
        alternatives_tried=list(facts.get("alternatives_tried") or ()),
        alternatives_exhausted=row.alternatives_exhausted,
        requesting_officer=row.requesting_officer,
        countersigning_officer=row.countersigning_officer)


def _decision(row: TraceRequestRow) -> DecisionOut | None:
    """The decision made on receipt, before the trace: the same whatever the trace found."""
    if row.decision_id is None:
        return None
    return DecisionOut(agreement=row.agreement, version=row.decided_version,
                       content_hash=row.decision_hash,
                       released_fields=list(row.released_fields or ()),
                       reasons=[Reason(**r) for r in row.reasons or ()])


def _refusal(row: TraceRequestRow) -> RefusalOut | None:
    status = Status(row.status)
    if status not in REFUSED_BEFORE_TRACE:
        return None
    kind = _REFUSAL_KIND[status]
    reasons = row.procedure_reasons if kind == "procedure" else row.reasons
    return RefusalOut(kind=kind, reasons=[Reason(**r) for r in reasons or ()])


def _with_staff_blocks(shown: TraceRequestOut, row: TraceRequestRow,
                       reviews: list[TraceReviewRow], runs: list[TraceRunRow],
                       pit: PublicInterestRow | None) -> TraceRequestOut:
    trace = None
    if row.trace_outcome is not None:
        trace = TraceOut(
            outcome=row.trace_outcome, match_probability=row.match_probability,
            margin_bits=row.match_margin, model_version=row.model_version,
            traced_by=row.traced_by, traced_at=row.traced_at, route=row.route,
            route_reasons=list(row.route_reasons or ()),
            release_bar=ReleaseBarOut(**row.release_bar) if row.release_bar else None,
            runs=[TraceRunOut(outcome=r.outcome, match_probability=r.match_probability,
                              model_version=r.model_version, traced_by=r.traced_by,
                              traced_at=r.traced_at) for r in runs])
    return shown.model_copy(update={
        "procedure": ProcedureOut(
            reasons=[Reason(**r) for r in row.procedure_reasons or ()],
            validated_by=row.validated_by, validated_at=row.validated_at),
        "public_interest": PublicInterestOut(
            decision=pit.decision, decided_by=pit.decided_by, decided_at=pit.decided_at,
            sha256=pit.sha256, record=json.loads(pit.record)) if pit else None,
        "trace": trace,
        "reviews": [ReviewOut(decision=r.decision, disclosure=r.disclosure_kind, reason=r.reason,
                              reviewed_by=r.reviewer_id, reviewed_at=r.reviewed_at)
                    for r in reviews]})
