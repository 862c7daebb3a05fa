"""Who may see which request, and what of it: rows to wire shapes.

An officer sees only their own organisation's requests (another's is a 404:
its existence is not theirs to know); a released Patient is shown only to
those who may read disclosures; the matched NHS number is never shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from caldicott.access.core.policy import can
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action
from caldicott.access.deps import ensure
from caldicott.errors import NotFound
from caldicott.requests import repository
from caldicott.requests.core.states import is_closed
from caldicott.requests.models import TraceReleaseRow, TraceRequestRow
from caldicott.requests.schemas import (
    DecisionOut,
    Reason,
    ReleaseOut,
    ReviewOut,
    SubjectOut,
    TraceOut,
    TraceRequestOut,
)


def visible(session: Session, principal: Principal, request_id: int) -> TraceRequestRow:
    """The request, if ``principal`` may read it (403 if they may read none, else 404)."""
    ensure(can(principal, Action.READ_REQUEST))
    row = repository.get(session, request_id)
    if row is None or not can(principal, Action.READ_REQUEST, row.organisation_id):
        raise NotFound(f"no trace request {request_id} that you may see")
    return row


def render(session: Session, principal: Principal,
           rows: Sequence[TraceRequestRow]) -> list[TraceRequestOut]:
    codes = {principal.organisation_id: principal.organisation_code}  # an officer's own
    codes.update(repository.organisation_codes(
        session, {r.organisation_id for r in rows} - codes.keys()))
    releases = repository.releases_of(session, [r.id for r in rows if r.status == "released"])
    return [_one(r, codes.get(r.organisation_id, "?"), releases.get(r.id), principal)
            for r in rows]


def _one(row: TraceRequestRow, organisation: str, release: TraceReleaseRow | None,
         principal: Principal) -> TraceRequestOut:
    show_release = release is not None and bool(
        can(principal, Action.READ_DISCLOSURE, row.organisation_id))
    return TraceRequestOut(
        id=row.id, status=row.status, closed=is_closed(row.status), organisation=organisation,
        requested_by=row.requested_by, batch_id=row.batch_id, received_at=row.received_at,
        request_date=row.request_date, category=row.category, purpose=row.purpose,
        case_reference=row.case_reference, requested_fields=list(row.requested_fields),
        subject=SubjectOut(given_name=row.given_name, family_name=row.family_name,
                           birth_date=row.birth_date, sex=row.sex, postcode=row.postcode,
                           address_line=row.address_line),
        decision=_decision(row), trace=_trace(row), review=_review(row),
        release=ReleaseOut(released_at=release.released_at, fields=list(release.fields),
                           new_information=release.new_information,
                           resource=release.resource) if show_release and release else None)


def _decision(row: TraceRequestRow) -> DecisionOut | None:
    if row.decision_id is None:
        return None
    return DecisionOut(agreement=row.agreement, version=row.decided_version,
                       content_hash=row.decision_hash,
                       released_fields=list(row.released_fields or ()),
                       reasons=[Reason(**r) for r in row.reasons or ()])


def _trace(row: TraceRequestRow) -> TraceOut | None:
    if row.trace_outcome is None:
        return None
    return TraceOut(outcome=row.trace_outcome, match_probability=row.match_probability,
                    margin_bits=row.match_margin, model_version=row.model_version,
                    traced_by=row.traced_by, traced_at=row.traced_at)


def _review(row: TraceRequestRow) -> ReviewOut | None:
    if row.review_decision is None or row.reviewed_at is None:
        return None
    return ReviewOut(decision=row.review_decision, reason=row.review_reason or "",
                     reviewed_by=row.reviewed_by, reviewed_at=row.reviewed_at)
