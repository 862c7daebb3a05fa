"""Batches of trace requests as people follow them: progress, results, the latest batches.

A batch is received whole (:func:`caldicott.requests.service.submit_batch`) and its
requests are then checked and decided in the background. Its progress is how many
have been checked (are no longer ``received``), out of how many, and how many are in
each status *as the viewer may see it*: a requester sees the requester's statuses
(:func:`~caldicott.requests.core.states.requester_status`), so a batch's progress
tells them nothing their own requests' pages would not; staff see every status.
Whoever may not see the batch's organisation's requests gets a 404, as for a request.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy.orm import Session

from caldicott.access.core.policy import can
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action
from caldicott.access.deps import ensure
from caldicott.access.reads import audit_read
from caldicott.errors import NotFound
from caldicott.requests import repository, views
from caldicott.requests.core.states import (
    REQUESTER_STATUSES,
    STATUSES,
    Status,
    requester_status,
)
from caldicott.requests.schemas import TraceRequestOut
from caldicott.settings import Settings

MAX_RECENT = 50


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """How far the service has gone with a batch, in the viewer's words."""

    batch_id: str
    total: int
    checked: int  # no longer waiting to be checked (received)
    counts: tuple[tuple[str, int], ...]  # (status as the viewer sees it, how many), in order

    @property
    def done(self) -> bool:
        """Every request has been checked: what is left waits for people, or is finished."""
        return self.checked >= self.total

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.checked * 100 // self.total


@dataclass(frozen=True, slots=True)
class BatchSummary:
    batch_id: str
    organisation: str
    received_at: object  # a timezone-aware datetime
    requests: int


def _visible_batch(session: Session, principal: Principal,
                   batch_id: str) -> dict[str, int]:
    ensure(can(principal, Action.READ_REQUEST))
    organisation_id, counts = repository.batch_counts(session, batch_id)
    if organisation_id is None or not can(principal, Action.READ_REQUEST, organisation_id):
        raise NotFound(f"no batch {batch_id} that you may see")
    return counts


def _as_seen(principal: Principal, counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
    if views.is_staff(principal):
        return tuple((s, counts[s]) for s in STATUSES if counts.get(s))
    seen: Counter[str] = Counter()
    for status, count in counts.items():
        seen[requester_status(status).value] += count
    return tuple((s, seen[s]) for s in REQUESTER_STATUSES if seen[s])


def progress(session: Session, principal: Principal, batch_id: str) -> BatchProgress:
    """A batch's progress (counts only: no personal data, so no ledger entry).

    Example:
        >>> progress(session, officer, batch_id).counts  # doctest: +SKIP
        (('refused', 3), ('under_consideration', 17))
    """
    counts = _visible_batch(session, principal, batch_id)
    total = sum(counts.values())
    waiting = counts.get(Status.RECEIVED.value, 0)
    return BatchProgress(batch_id, total, total - waiting, _as_seen(principal, counts))


def results(session: Session, settings: Settings, principal: Principal,
            batch_id: str) -> list[TraceRequestOut]:
    """Every request of the batch, in the order sent, as far as ``principal`` may see it
    (a requester: the requester's view, a release's fields only; staff: every step).

    Writes one ledger entry (the read); call it inside a write transaction.
    """
    _visible_batch(session, principal, batch_id)
    repository.begin_write(session)
    rows = repository.batch_rows(session, batch_id)
    shown = views.render(session, principal, rows)
    # The batch by its first request's id: a batch id is random hex, which can hold a
    # ten-digit run the ledger would (rightly) refuse as a possible NHS number.
    audit_read(session, settings, principal, "trace-request-batch",
               subjects=sorted({r.matched_nhs_number for r in rows if r.matched_nhs_number}),
               details={"first_request": rows[0].id if rows else 0, "shown": len(rows)})
    return shown


def recent(session: Session, principal: Principal, limit: int = 20) -> list[BatchSummary]:
    """The latest batches ``principal`` may see (their organisation's, or every one for
    staff), newest first."""
    ensure(can(principal, Action.READ_REQUEST))
    found = repository.recent_batches(session, views.organisation_scope(principal),
                                      max(1, min(limit, MAX_RECENT)))
    codes = repository.organisation_codes(session, {b.organisation_id for b in found})
    return [BatchSummary(b.batch_id, codes.get(b.organisation_id, "?"), b.received_at,
                         b.requests) for b in found]
