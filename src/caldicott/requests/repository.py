"""Every query of the trace-request lifecycle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from caldicott.agreements.models import AgreementDecisionRow
from caldicott.orgs.models import OrganisationRow
from caldicott.requests.core.states import Status, is_closed, sources_of
from caldicott.requests.models import (
    PublicInterestRow,
    TraceReleaseRow,
    TraceRequestRow,
    TraceReviewRow,
    TraceRunRow,
)


def begin_write(session: Session) -> None:
    """Take SQLite's write lock first thing in a transaction that will write.

    SQLite starts transactions deferred: one that reads, then writes after
    another writer committed, fails at once with "database is locked" instead
    of waiting. A write statement as the first statement waits its turn (the
    busy timeout) instead. PostgreSQL needs nothing: its row locks and the
    conditional updates serialise the steps.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(TraceRequestRow).where(TraceRequestRow.id == -1)
                        .values(status=TraceRequestRow.status)
                        .execution_options(synchronize_session=False))


def get(session: Session, request_id: int) -> TraceRequestRow | None:
    return session.get(TraceRequestRow, request_id)


def by_idempotency_key(session: Session, user_id: int, key: str) -> TraceRequestRow | None:
    return session.scalars(select(TraceRequestRow).where(
        TraceRequestRow.requested_by == user_id,
        TraceRequestRow.idempotency_key == key)).one_or_none()


def add_all(session: Session, rows: Sequence[TraceRequestRow]) -> None:
    session.add_all(rows)
    session.flush()


def advance(session: Session, row: TraceRequestRow, target: Status, **values: Any) -> bool:
    """Move a request to ``target`` only if it is in a status that may lead there.

    Returns False (and changes nothing) when another worker got there first:
    the caller then rolls back its transaction, ledger entry included. On
    success the loaded ``row`` shows the new values without another query.
    """
    now = dt.datetime.now(dt.UTC)
    values = {"status": target.value, "status_changed_at": now, **values}
    if is_closed(target):
        values["closed_at"] = now
    result = session.execute(
        update(TraceRequestRow)
        .where(TraceRequestRow.id == row.id,
               TraceRequestRow.status.in_(sources_of(target)))
        .values(**values)
        .execution_options(synchronize_session=False))
    moved: bool = getattr(result, "rowcount", 0) == 1
    if moved:
        for name, value in values.items():
            set_committed_value(row, name, value)
    return moved


def add_release(session: Session, row: TraceReleaseRow) -> None:
    session.add(row)
    session.flush()


def releases_of(session: Session, request_ids: Sequence[int]) -> dict[int, TraceReleaseRow]:
    if not request_ids:
        return {}
    rows = session.scalars(select(TraceReleaseRow).where(
        TraceReleaseRow.request_id.in_(request_ids)))
    return {r.request_id: r for r in rows}


def organisation_codes(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(OrganisationRow.id, OrganisationRow.code)
                           .where(OrganisationRow.id.in_(ids)))
    return {int(i): str(c) for i, c in rows}


def organisation_id(session: Session, code: str) -> int | None:
    return session.scalars(select(OrganisationRow.id).where(
        OrganisationRow.code == code.strip().upper())).one_or_none()


def decided_as_of(session: Session, row: TraceRequestRow) -> dt.date | None:
    """The date the request's stored decision was made as of."""
    if row.decision_id is None:
        return None
    day: dt.date | None = session.scalar(select(AgreementDecisionRow.as_of)
                                         .where(AgreementDecisionRow.id == row.decision_id))
    return day


@dataclass(frozen=True)
class ListFilter:
    organisation_id: int | None = None
    statuses: tuple[str, ...] = ()
    batch_id: str | None = None
    category: str | None = None
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    limit: int = 100
    offset: int = 0


def search(session: Session, wanted: ListFilter) -> tuple[int, list[TraceRequestRow]]:
    """A page of requests matching ``wanted``, newest first, and how many match."""
    conditions: list[Any] = []
    if wanted.organisation_id is not None:
        conditions.append(TraceRequestRow.organisation_id == wanted.organisation_id)
    if wanted.statuses:
        conditions.append(TraceRequestRow.status.in_(wanted.statuses))
    if wanted.batch_id is not None:
        conditions.append(TraceRequestRow.batch_id == wanted.batch_id)
    if wanted.category is not None:
        conditions.append(TraceRequestRow.category == wanted.category)
    if wanted.received_from is not None:
        conditions.append(TraceRequestRow.request_date >= wanted.received_from)
    if wanted.received_to is not None:
        conditions.append(TraceRequestRow.request_date <= wanted.received_to)
    total = session.scalar(select(func.count()).select_from(TraceRequestRow).where(*conditions))
    rows = session.scalars(select(TraceRequestRow).where(*conditions)
                           .order_by(TraceRequestRow.id.desc())
                           .limit(wanted.limit).offset(wanted.offset))
    return int(total or 0), list(rows)


def ids_in(session: Session, statuses: Sequence[str], after: int = 0,
           limit: int = 1000) -> list[int]:
    """Ids of requests in ``statuses`` above ``after``, in order (a page of work)."""
    return list(session.scalars(select(TraceRequestRow.id)
                                .where(TraceRequestRow.status.in_(statuses),
                                       TraceRequestRow.id > after)
                                .order_by(TraceRequestRow.id).limit(limit)))


def count_new_information(session: Session) -> tuple[int, int]:
    """``(releases that told the requester a new address, all releases)``."""
    rows = {bool(new): int(count) for new, count in session.execute(
        select(TraceReleaseRow.new_information, func.count())
        .group_by(TraceReleaseRow.new_information))}
    return rows.get(True, 0), sum(rows.values())


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(TraceRequestRow.status, func.count())
                           .group_by(TraceRequestRow.status))
    return {str(s): int(n) for s, n in rows}


def batch_rows(session: Session, batch_id: str) -> list[TraceRequestRow]:
    return list(session.scalars(select(TraceRequestRow).where(
        TraceRequestRow.batch_id == batch_id).order_by(TraceRequestRow.id)))


def organisation_kind(session: Session, organisation_id: int) -> str:
    kind = session.scalar(select(OrganisationRow.kind).where(
        OrganisationRow.id == organisation_id))
    return str(kind or "")


def add_run(session: Session, row: TraceRunRow) -> None:
    session.add(row)
    session.flush()


def tracers_of(session: Session, request_id: int) -> set[int]:
    """Everyone who ever traced the request (separation of duties reaches back)."""
    return {int(u) for u in session.scalars(select(TraceRunRow.traced_by).where(
        TraceRunRow.request_id == request_id, TraceRunRow.traced_by.is_not(None)))
        if u is not None}


def runs_of(session: Session, request_ids: Sequence[int]) -> dict[int, list[TraceRunRow]]:
    """Every trace run of the requests, oldest first, by request (one query for a page)."""
    found: dict[int, list[TraceRunRow]] = {}
    if request_ids:
        for run in session.scalars(select(TraceRunRow).where(
                TraceRunRow.request_id.in_(request_ids)).order_by(TraceRunRow.id)):
            found.setdefault(run.request_id, []).append(run)
    return found


def add_review(session: Session, request_id: int, reviewer_id: int, decision: str,
               disclosure: str | None, reason: str, at: dt.datetime) -> None:
    session.add(TraceReviewRow(request_id=request_id, reviewer_id=reviewer_id,
                               decision=decision, disclosure_kind=disclosure, reason=reason,
                               reviewed_at=at))
    session.flush()


def reviews_of(session: Session, request_ids: Sequence[int]) -> dict[int, list[TraceReviewRow]]:
    found: dict[int, list[TraceReviewRow]] = {}
    if request_ids:
        for review in session.scalars(select(TraceReviewRow).where(
                TraceReviewRow.request_id.in_(request_ids)).order_by(TraceReviewRow.id)):
            found.setdefault(review.request_id, []).append(review)
    return found


def approvals_since(session: Session, request_id: int,
                    traced_at: dt.datetime | None) -> list[TraceReviewRow]:
    """Approvals given since the latest trace (a re-trace starts the count again)."""
    query = select(TraceReviewRow).where(TraceReviewRow.request_id == request_id,
                                         TraceReviewRow.decision == "approve")
    if traced_at is not None:
        query = query.where(TraceReviewRow.reviewed_at >= traced_at)
    return list(session.scalars(query.order_by(TraceReviewRow.id)))


def add_public_interest(session: Session, row: PublicInterestRow) -> None:
    session.add(row)
    session.flush()


def public_interest_of(session: Session, request_id: int) -> PublicInterestRow | None:
    return session.get(PublicInterestRow, request_id)


def public_interest_of_many(session: Session,
                            request_ids: Sequence[int]) -> dict[int, PublicInterestRow]:
    if not request_ids:
        return {}
    rows = session.scalars(select(PublicInterestRow).where(
        PublicInterestRow.request_id.in_(request_ids)))
    return {r.request_id: r for r in rows}


def public_interest_records(session: Session) -> list[PublicInterestRow]:
    return list(session.scalars(select(PublicInterestRow).order_by(
        PublicInterestRow.request_id)))


def _waiting_conditions(statuses: Sequence[str], organisation_id: int | None) -> list[Any]:
    conditions: list[Any] = [TraceRequestRow.status.in_(statuses)]
    if organisation_id is not None:
        conditions.append(TraceRequestRow.organisation_id == organisation_id)
    return conditions


def count_waiting(session: Session, statuses: Sequence[str], organisation_id: int | None) -> int:
    """How many requests are in ``statuses`` (of one organisation, if given)."""
    return int(session.scalar(select(func.count()).select_from(TraceRequestRow).where(
        *_waiting_conditions(statuses, organisation_id))) or 0)


def waiting(session: Session, statuses: Sequence[str], organisation_id: int | None,
            after: int, limit: int) -> list[TraceRequestRow]:
    """Requests in ``statuses`` received after request ``after``, oldest first (keyset
    on the id, which is the order of receipt: served by ``ix_trace_request_status_id``)."""
    return list(session.scalars(
        select(TraceRequestRow)
        .where(*_waiting_conditions(statuses, organisation_id), TraceRequestRow.id > after)
        .order_by(TraceRequestRow.id).limit(limit)))


def batch_counts(session: Session, batch_id: str) -> tuple[int | None, dict[str, int]]:
    """The organisation a batch came from (None: no such batch) and its requests' count in
    each status (one grouped query, served by the ``batch_id`` index)."""
    rows = session.execute(
        select(TraceRequestRow.organisation_id, TraceRequestRow.status, func.count())
        .where(TraceRequestRow.batch_id == batch_id)
        .group_by(TraceRequestRow.organisation_id, TraceRequestRow.status)).all()
    counts = {str(status): int(count) for _, status, count in rows}
    return (int(rows[0][0]) if rows else None), counts


@dataclass(frozen=True)
class BatchRow:
    batch_id: str
    organisation_id: int
    received_at: dt.datetime
    requests: int


def recent_batches(session: Session, organisation_id: int | None,
                   limit: int) -> list[BatchRow]:
    """The latest ``limit`` batches (of one organisation, if given), newest first."""
    query = (select(TraceRequestRow.batch_id, TraceRequestRow.organisation_id,
                    func.min(TraceRequestRow.received_at), func.count(),
                    func.max(TraceRequestRow.id).label("last"))
             .where(TraceRequestRow.batch_id.is_not(None))
             .group_by(TraceRequestRow.batch_id, TraceRequestRow.organisation_id)
             .order_by(func.max(TraceRequestRow.id).desc()).limit(limit))
    if organisation_id is not None:
        query = query.where(TraceRequestRow.organisation_id == organisation_id)
    return [BatchRow(str(b), int(o), r, int(n)) for b, o, r, n, _ in session.execute(query)]
