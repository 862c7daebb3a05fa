"""The tracer's desk: the requests awaiting validation, and one request's file to validate.

A tracer checks the procedure by hand before anyone is looked for: the
request's officers, its subject, its offence or order, its justification. The
queue lists the requests awaiting that check, oldest first (in the order
received), each with its age; the file of one request adds the words of the
clauses of the agreement version it was decided under and the reasons a tracer
may give for a rejection. Validating itself is :func:`caldicott.requests.service.validate`;
nothing here decides anything.

Both reads show personal data (the subject as the requester gave it) to a
person, so each is recorded in the ledger (``audit_read``) in the caller's
transaction. No patient was looked for yet: there is no NHS number to name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import get_args

from sqlalchemy.orm import Session

from caldicott.access.core.policy import can
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action
from caldicott.access.deps import ensure
from caldicott.access.reads import audit_read
from caldicott.errors import CaldicottError
from caldicott.requests import repository, views
from caldicott.requests.core.procedure import REASON_TEXTS
from caldicott.requests.core.states import Status
from caldicott.requests.schemas import ProcedureCode, TraceRequestOut
from caldicott.requests.service import version_of
from caldicott.settings import Settings

MAX_PAGE = 100
#: The reasons a tracer may give for a rejection (the API's codes), with their words.
REJECTION_REASONS: tuple[tuple[str, str], ...] = tuple(
    (code, REASON_TEXTS[code]) for code in get_args(ProcedureCode))


@dataclass(frozen=True, slots=True)
class Waiting:
    """One request awaiting validation, as the staff view shows it, with its age."""

    request: TraceRequestOut
    age: dt.timedelta  # since it was received
    waiting: dt.timedelta  # since it reached awaiting validation


@dataclass(frozen=True, slots=True)
class ValidationQueue:
    items: tuple[Waiting, ...]
    total: int  # requests awaiting validation, on every page
    next_after: int | None  # pass as ``after`` for the next page; None on the last


@dataclass(frozen=True, slots=True)
class ValidationFile:
    """One request for a tracer: the request, its clauses, and whether it still waits."""

    item: Waiting
    awaiting: bool  # still awaiting validation (else it shows where it went)
    clauses: tuple[tuple[str, str], ...]  # (id, words) of the version it was decided under


def _scope(principal: Principal) -> int | None:
    ensure(can(principal, Action.VALIDATE_REQUEST))
    return None if can(principal, Action.VALIDATE_REQUEST, -1) else principal.organisation_id


def validation_queue(session: Session, settings: Settings, principal: Principal,
                     after: int | None = None, limit: int = 20,
                     now: dt.datetime | None = None) -> ValidationQueue:
    """The requests awaiting validation, oldest first, one page after request ``after``.

    Writes one ledger entry (the read); call it inside a write transaction.

    Example:
        >>> queue = validation_queue(session, settings, tracer)  # doctest: +SKIP
        >>> queue.items[0].request.status  # doctest: +SKIP
        'awaiting_validation'
    """
    organisation = _scope(principal)
    limit = max(1, min(limit, MAX_PAGE))
    repository.begin_write(session)  # the read is recorded in the ledger
    statuses = (Status.AWAITING_VALIDATION.value,)
    total = repository.count_waiting(session, statuses, organisation)
    rows = repository.waiting(session, statuses, organisation, after or 0, limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    moment = now or dt.datetime.now(dt.UTC)
    shown = views.render(session, principal, rows)
    items = tuple(Waiting(view, moment - row.received_at, moment - row.status_changed_at)
                  for row, view in zip(rows, shown, strict=True))
    audit_read(session, settings, principal, "validation-queue",
               details={"shown": len(rows), "total": total})
    return ValidationQueue(items, total, rows[-1].id if more and rows else None)


def validation_file(session: Session, settings: Settings, principal: Principal,
                    request_id: int, now: dt.datetime | None = None) -> ValidationFile:
    """One request as a tracer validates it (404 if they may not see it).

    Writes one ledger entry (the read).

    Example:
        >>> found = validation_file(session, settings, tracer, 42)  # doctest: +SKIP
        >>> found.awaiting, found.clauses[0][0]  # doctest: +SKIP
        (True, '1.1')
    """
    _scope(principal)
    repository.begin_write(session)
    row = views.visible(session, principal, request_id)
    shown = views.render(session, principal, [row])[0]
    clauses: tuple[tuple[str, str], ...] = ()
    try:
        version = version_of(session, settings, row)
        clauses = tuple((c.id, c.text) for c in version.clauses)
    except CaldicottError:  # the agreement is no longer in force: shown without clauses
        pass
    moment = now or dt.datetime.now(dt.UTC)
    audit_read(session, settings, principal, f"trace-request/{row.id}",
               subjects=[row.matched_nhs_number] if row.matched_nhs_number else (),
               details={"view": "validation"})
    return ValidationFile(Waiting(shown, moment - row.received_at,
                                  moment - row.status_changed_at),
                          row.status == Status.AWAITING_VALIDATION, clauses)
