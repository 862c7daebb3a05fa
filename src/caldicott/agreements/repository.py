"""Every query on stored agreement decisions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import func, insert, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from caldicott.agreements.models import AgreementActivationRow, AgreementDecisionRow


def add_decision(session: Session, row: AgreementDecisionRow) -> AgreementDecisionRow:
    session.add(row)
    session.flush()
    return row


def add_decisions(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Insert many decisions at once (imports, benchmarks)."""
    batch = list(rows)
    if batch:
        session.execute(insert(AgreementDecisionRow), batch)


def iter_requests_for_replay(
    session: Session, *, agreement: str | None, channels: Iterable[str], batch: int = 2000
) -> Iterator[Any]:
    """Stream each request's latest decision, oldest first, with the request's own date.

    Rows: (id, as_of, channel, agreement, version, outcome, request_facts, request_ref),
    where ``as_of`` is the date of the request's first decision (a request queued in
    June and decided in December is replayed as of June). A decision stored without a
    ``request_ref`` counts as a request of its own. ``agreement`` None: every agreement.
    """
    table = AgreementDecisionRow
    where: list[ColumnElement[bool]] = [table.channel.in_(list(channels))]
    if agreement is not None:
        where.append(table.agreement == agreement)
    grouped = (
        select(
            table.request_ref,
            func.max(table.id).label("last_id"),
            func.min(table.as_of).label("first_as_of"),
        )
        .where(table.request_ref.is_not(None), *where)
        .group_by(table.request_ref)
        .subquery()
    )
    columns = (table.channel, table.agreement, table.version, table.outcome)
    latest = select(
        table.id, grouped.c.first_as_of.label("as_of"), *columns, table.request_facts,
        table.request_ref,
    ).join(grouped, table.id == grouped.c.last_id)
    alone = select(
        table.id, table.as_of, *columns, table.request_facts, table.request_ref
    ).where(table.request_ref.is_(None), *where)
    both = union_all(latest, alone).subquery()
    query = select(both).order_by(both.c.id).execution_options(yield_per=batch)
    yield from session.execute(query)


def count_read(session: Session, *, agreement: str | None, channels: Iterable[str]) -> int:
    """How many stored decisions a replay of ``agreement`` on ``channels`` reads."""
    table = AgreementDecisionRow
    query = select(func.count()).select_from(table).where(table.channel.in_(list(channels)))
    if agreement is not None:
        query = query.where(table.agreement == agreement)
    return int(session.scalar(query) or 0)


def trace_releases(
    session: Session, request_ids: list[int], decision_ids: list[int]
) -> dict[tuple[str, int], tuple[bool, str | None]]:
    """For trace requests (by id, or by the decision they point to): released? about whom?

    Keys are ("request", id) and ("decision", decision id); values (whether a
    release was made, the matched NHS number or None). The numbers stay in the
    caller's memory to be counted, never shown.
    """
    from caldicott.requests.models import TraceReleaseRow, TraceRequestRow

    found: dict[tuple[str, int], tuple[bool, str | None]] = {}
    released = select(TraceReleaseRow.request_id).where(
        TraceReleaseRow.request_id == TraceRequestRow.id
    ).exists()
    columns = (TraceRequestRow.id, TraceRequestRow.decision_id,
               TraceRequestRow.matched_nhs_number, released)
    for chunk in _chunks(request_ids):
        for row in session.execute(select(*columns).where(TraceRequestRow.id.in_(chunk))):
            found[("request", row[0])] = (bool(row[3]), row[2])
    for chunk in _chunks(decision_ids):
        query = select(*columns).where(TraceRequestRow.decision_id.in_(chunk))
        for row in session.execute(query):
            if row[1] is not None:
                found[("decision", row[1])] = (bool(row[3]), row[2])
    return found


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def activations(session: Session) -> list[tuple[str, str, str, str]]:
    """(agreement, version, content hash, file SHA-256) of every activation."""
    table = AgreementActivationRow
    rows = session.execute(
        select(table.agreement, table.version, table.content_hash, table.file_sha256)
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def activation(
    session: Session, agreement: str, version: str, content_hash: str, file_sha256: str
) -> AgreementActivationRow | None:
    table = AgreementActivationRow
    return session.scalar(
        select(table).where(
            table.agreement == agreement,
            table.version == version,
            table.content_hash == content_hash,
            table.file_sha256 == file_sha256,
        )
    )


def add_activation(session: Session, row: AgreementActivationRow) -> AgreementActivationRow:
    session.add(row)
    session.flush()
    return row
