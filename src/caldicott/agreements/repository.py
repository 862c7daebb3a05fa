"""Every query on stored agreement decisions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from caldicott.agreements.models import AgreementDecisionRow


def add_decision(session: Session, row: AgreementDecisionRow) -> AgreementDecisionRow:
    session.add(row)
    session.flush()
    return row


def add_decisions(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Insert many decisions at once (imports, benchmarks)."""
    batch = list(rows)
    if batch:
        session.execute(insert(AgreementDecisionRow), batch)


def count_decisions(session: Session, agreement: str | None = None) -> int:
    query = select(func.count()).select_from(AgreementDecisionRow)
    if agreement is not None:
        query = query.where(AgreementDecisionRow.agreement == agreement)
    return int(session.scalar(query) or 0)


def iter_decisions_for_replay(
    session: Session, *, agreement: str | None, channels: Iterable[str], batch: int = 2000
) -> Iterator[Any]:
    """Stream (id, as_of, channel, agreement, version, outcome, request_facts), oldest first.

    ``agreement`` None means every agreement's decisions on ``channels``.
    """
    table = AgreementDecisionRow
    query = select(
        table.id,
        table.as_of,
        table.channel,
        table.agreement,
        table.version,
        table.outcome,
        table.request_facts,
    ).where(table.channel.in_(list(channels)))
    if agreement is not None:
        query = query.where(table.agreement == agreement)
    query = query.order_by(table.id).execution_options(yield_per=batch)
    yield from session.execute(query)
