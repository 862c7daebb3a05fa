"""Every query on usage events and credit notes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from caldicott.billing.models import CreditNoteRow, UsageEventRow
from caldicott.orgs.models import OrganisationRow


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert events, skipping any whose ``event_id`` is already stored (a repeated event
    counts once, even when two processes record it at the same moment). Returns how many
    were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and len(rows) >= COPY_FROM:
        return _copy_events(session, rows)
    if dialect == "sqlite" and len(rows) >= COPY_FROM:
        return _sqlite_events(session, rows)
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (insert(UsageEventRow).on_conflict_do_nothing(index_elements=["event_id"])
                 .returning(UsageEventRow.id))
    return len(session.execute(statement, list(rows)).all())


COPY_FROM = 200  # PostgreSQL: from this many events, COPY to a scratch table, then insert
_COLUMNS = ("event_id", "organisation_id", "kind", "started_at", "ended_at", "duration_seconds",
            "price_version", "amount_pence", "financial_year", "month", "recorded_at")


def _copy_events(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """PostgreSQL's fast path: COPY into a scratch table of this transaction, then one
    INSERT ... SELECT that skips known event ids (its row count is what was new)."""
    from caldicott.db import bulk_insert_rows, utcnow

    now = utcnow()
    session.execute(text("CREATE TEMP TABLE IF NOT EXISTS usage_event_incoming "
                         "(LIKE usage_event INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"))
    bulk_insert_rows(session, "usage_event_incoming", _COLUMNS,
                     ([*(row[c] for c in _COLUMNS[:-1]), now] for row in rows))
    columns = ", ".join(_COLUMNS)
    result = session.execute(text(
        f"INSERT INTO usage_event ({columns}) SELECT {columns} FROM usage_event_incoming "
        "ON CONFLICT (event_id) DO NOTHING"))
    session.execute(text("TRUNCATE usage_event_incoming"))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _sqlite_events(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """SQLite's fast path: the driver's executemany of INSERT OR IGNORE (a known event id
    is skipped), with times stored exactly as SQLAlchemy's types store them."""
    from caldicott.db import _sqlite_date_adapters, utcnow

    now = utcnow()
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    statement = (f"INSERT OR IGNORE INTO usage_event ({', '.join(_COLUMNS)}) "
                 f"VALUES ({', '.join('?' for _ in _COLUMNS)})")
    try:
        with _sqlite_date_adapters():
            cursor.executemany(statement, ([*(row[c] for c in _COLUMNS[:-1]), now]
                                           for row in rows))
        return int(cursor.rowcount)
    finally:
        cursor.close()


def event_by_id(session: Session, event_id: str) -> UsageEventRow | None:
    return session.scalars(select(UsageEventRow).where(UsageEventRow.event_id == event_id)).first()


def credit_note_of(session: Session, usage_event_id: int) -> CreditNoteRow | None:
    return session.scalars(select(CreditNoteRow)
                           .where(CreditNoteRow.usage_event_id == usage_event_id)).first()


def add_credit_note(session: Session, row: CreditNoteRow) -> CreditNoteRow:
    session.add(row)
    session.flush()
    return row


def usage_totals(session: Session, year: str, organisation_id: int | None,
                 by_month: bool) -> Sequence[Row[str, str, str, int, int, int]]:
    """(code, period, kind, count, seconds, pence) per organisation, kind and period."""
    period = UsageEventRow.month if by_month else UsageEventRow.financial_year
    query = (select(OrganisationRow.code, period, UsageEventRow.kind, func.count(),
                    func.sum(UsageEventRow.duration_seconds), func.sum(UsageEventRow.amount_pence))
             .join(OrganisationRow, OrganisationRow.id == UsageEventRow.organisation_id)
             .where(UsageEventRow.financial_year == year)
             .group_by(OrganisationRow.code, period, UsageEventRow.kind))
    if organisation_id is not None:
        query = query.where(UsageEventRow.organisation_id == organisation_id)
    return session.execute(query).all()


def credit_totals(session: Session, year: str, organisation_id: int | None,
                  by_month: bool) -> Sequence[Row[str, str, int]]:
    """(code, period, pence) of credit notes, by the credited event's organisation and period."""
    period = UsageEventRow.month if by_month else UsageEventRow.financial_year
    query = (select(OrganisationRow.code, period, func.sum(CreditNoteRow.amount_pence))
             .join(UsageEventRow, UsageEventRow.id == CreditNoteRow.usage_event_id)
             .join(OrganisationRow, OrganisationRow.id == UsageEventRow.organisation_id)
             .where(UsageEventRow.financial_year == year)
             .group_by(OrganisationRow.code, period))
    if organisation_id is not None:
        query = query.where(UsageEventRow.organisation_id == organisation_id)
    return session.execute(query).all()


def statement_lines(session: Session, year: str,
                    organisation_id: int) -> Sequence[Row[UsageEventRow, CreditNoteRow]]:
    """Every event of an organisation's year, in time order, with its credit note if any."""
    return session.execute(
        select(UsageEventRow, CreditNoteRow)
        .outerjoin(CreditNoteRow, CreditNoteRow.usage_event_id == UsageEventRow.id)
        .where(UsageEventRow.financial_year == year,
               UsageEventRow.organisation_id == organisation_id)
        .order_by(UsageEventRow.started_at, UsageEventRow.id)).all()


def years_with_usage(session: Session) -> list[str]:
    return sorted(session.scalars(select(UsageEventRow.financial_year).distinct()))
