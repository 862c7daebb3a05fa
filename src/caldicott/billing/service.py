"""Billing use cases: record usage (idempotently), bills, credit notes, statements.

Services never commit; the edge owns the transaction. Money is integer pence.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.orm import Session

from caldicott.billing import repository
from caldicott.billing.core.bills import Bill, RatedEvent, UsageEvent, pounds, rate
from caldicott.billing.core.prices import PriceList, load_prices
from caldicott.billing.core.years import local, parse_year
from caldicott.billing.models import CreditNoteRow
from caldicott.errors import Conflict, InvalidInput, NotFound
from caldicott.orgs.service import get_organisation


@lru_cache(maxsize=1)
def checking_prices() -> PriceList:
    """The checking service's price file, loaded once."""
    return load_prices()


def _row(rated: RatedEvent) -> dict[str, object]:
    event = rated.event
    return {"event_id": event.event_id, "organisation_id": event.organisation_id,
            "kind": event.kind, "started_at": event.started_at, "ended_at": event.ended_at,
            "duration_seconds": rated.seconds, "price_version": rated.price_version,
            "amount_pence": rated.amount_pence, "financial_year": rated.financial_year,
            "month": rated.month}


def record_usage(session: Session, events: Iterable[UsageEvent],
                 prices: PriceList | None = None, batch: int = 5000) -> int:
    """Rate and store usage events; one already stored (same id) is not counted again.

    Returns how many were new.

    Example:
        >>> event = UsageEvent("call/1", org.id, "call", start, end)  # doctest: +SKIP
        >>> record_usage(session, [event, event])  # doctest: +SKIP
        1
    """
    prices = prices or checking_prices()
    new, rows = 0, []
    for event in events:
        rows.append(_row(rate(event, prices)))
        if len(rows) >= batch:
            new += repository.insert_events(session, rows)
            rows = []
    return new + repository.insert_events(session, rows)


def bills(session: Session, year: str, organisation: str | None = None, *,
          by_month: bool = False) -> list[Bill]:
    """Bills for one NHS financial year (``2017/18``): one per organisation, or one per
    organisation and month with ``by_month``, sorted by organisation then period.

    Example:
        >>> [b.total_pence for b in bills(session, "2016/17")]  # doctest: +SKIP
        [12800, 4000]
    """
    parse_year(year)
    org_id = get_organisation(session, organisation).id if organisation else None
    sums: dict[tuple[str, str], dict[str, int]] = {}
    for code, period, kind, count, seconds, pence in repository.usage_totals(
            session, year, org_id, by_month):
        entry = sums.setdefault((code, period), {})
        entry[f"{kind}_count"], entry[f"{kind}_seconds"] = int(count), int(seconds or 0)
        entry[f"{kind}_pence"] = int(pence or 0)
    for code, period, pence in repository.credit_totals(session, year, org_id, by_month):
        sums.setdefault((code, period), {})["credited"] = int(pence or 0)
    return [Bill(code, period, s.get("call_count", 0), s.get("call_seconds", 0),
                 s.get("call_pence", 0), s.get("officer_seconds", 0), s.get("officer_pence", 0),
                 s.get("credited", 0))
            for (code, period), s in sorted(sums.items())]


def issue_credit_note(session: Session, event_id: str, reason: str,
                      issued_by: str) -> CreditNoteRow:
    """Credit a disputed event in full (a wrong answer, a call that should not have been
    charged). The bill of the event's year and month shows it.

    Raises:
        NotFound: no such event. Conflict: it is already credited.
    """
    if not reason.strip() or len(reason) > 300:
        raise InvalidInput("a credit note gives its reason in 1 to 300 characters")
    event = repository.event_by_id(session, event_id)
    if event is None:
        raise NotFound(f"no usage event {event_id!r}")
    if repository.credit_note_of(session, event.id) is not None:
        raise Conflict(f"usage event {event_id} is already credited")
    return repository.add_credit_note(session, CreditNoteRow(
        usage_event_id=event.id, amount_pence=event.amount_pence, reason=reason.strip(),
        issued_by=issued_by))


STATEMENT_COLUMNS = ("date", "event", "kind", "started_at", "ended_at", "seconds",
                     "price_version", "charge_pence", "credit_pence", "credit_reason", "charge")


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One charged event of a statement, with its credit note if any (no patient in it:
    an event names only its own id)."""

    date: dt.date
    event_id: str
    kind: str
    started_at: dt.datetime
    ended_at: dt.datetime
    seconds: int
    price_version: str
    charge_pence: int
    credit_pence: int
    credit_reason: str

    @property
    def net_pence(self) -> int:
        return self.charge_pence - self.credit_pence


@dataclass(frozen=True, slots=True)
class Statement:
    """An organisation's statement for a financial year: every event, in time order."""

    organisation: str
    year: str
    lines: list[StatementLine]

    @property
    def charged_pence(self) -> int:
        return sum(line.charge_pence for line in self.lines)

    @property
    def credited_pence(self) -> int:
        return sum(line.credit_pence for line in self.lines)

    @property
    def total_pence(self) -> int:
        return self.charged_pence - self.credited_pence

    @property
    def credit_notes(self) -> list[StatementLine]:
        return [line for line in self.lines if line.credit_pence]


def statement(session: Session, organisation: str, year: str) -> Statement:
    """An organisation's statement for a financial year (the page's and the CSV's)."""
    parse_year(year)
    org = get_organisation(session, organisation)
    lines = [StatementLine(local(event.started_at).date(), event.event_id, event.kind,
                           event.started_at, event.ended_at, event.duration_seconds,
                           event.price_version, event.amount_pence,
                           credit.amount_pence if credit is not None else 0,
                           credit.reason if credit is not None else "")
             for event, credit in repository.statement_lines(session, year, org.id)]
    return Statement(org.code, year, lines)


def statement_csv(session: Session, organisation: str, year: str) -> str:
    """An organisation's statement for a financial year as CSV: one line per event (no
    patient appears: an event names only its own id), then the totals."""
    shown = statement(session, organisation, year)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STATEMENT_COLUMNS)
    for line in shown.lines:
        writer.writerow([line.date.isoformat(), line.event_id, line.kind,
                         line.started_at.isoformat(), line.ended_at.isoformat(), line.seconds,
                         line.price_version, line.charge_pence, line.credit_pence,
                         line.credit_reason, pounds(line.net_pence)])
    writer.writerow(["", "TOTAL", "", "", "", "", "", shown.charged_pence,
                     shown.credited_pence, "", pounds(shown.total_pence)])
    return out.getvalue()


def years(session: Session) -> list[str]:
    """The financial years that hold any usage."""
    return repository.years_with_usage(session)
