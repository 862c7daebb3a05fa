"""Billing pages: an organisation's bills for a financial year, month by month, with its
credit notes; its statement as a page and as CSV; every organisation's bills (auditors).

An overseas visitors manager sees their own organisation's, an auditor any (the same rule
as :mod:`caldicott.billing.api`: :func:`~caldicott.billing.api.whose_bills`). Handlers
call :mod:`caldicott.billing.service` only. Nothing on these pages names a patient: an
event is named by its own id.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from caldicott.access.core.policy import can, ensure
from caldicott.access.core.roles import Action
from caldicott.billing import service
from caldicott.billing.api import whose_bills
from caldicott.billing.core.bills import pounds
from caldicott.billing.core.years import financial_year, parse_year
from caldicott.db import utcnow
from caldicott.service.deps import SessionDep
from caldicott.web.deps import Person, page_router
from caldicott.web.home import HomeLink, register_link
from caldicott.web.templating import render

router = page_router(prefix="/billing")
LINES_PER_PAGE = 100
Year = Annotated[str | None, Query(pattern=r"^\d{4}/\d{2}$", description="e.g. 2017/18")]
Org = Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9-]+$")]

register_link(HomeLink("Bills", "/billing",
                       "Your organisation's status-check bills per financial year and month, "
                       "credit notes and statements", Action.RAISE_INVOICE, 40))
register_link(HomeLink("Every organisation's bills", "/billing/organisations",
                       "What each organisation was billed for status checks, per financial "
                       "year", Action.READ_REPORTS, 41))


def _year(session: Session, year: str | None) -> tuple[str, list[str]]:
    """The year shown (the one asked for, else the latest billed, else this one) and
    every year with charges."""
    years = service.years(session)
    if year is not None:
        parse_year(year)
        return year, years
    return (years[-1] if years else financial_year(utcnow())), years


def _month_name(month: str) -> str:
    return f"{dt.date.fromisoformat(month + '-01'):%B %Y}"


def _context(**values: Any) -> dict[str, Any]:
    return {"pounds": pounds, "month_name": _month_name, **values}


@router.get("")
def bills(request: Request, person: Person, session: SessionDep, year: Year = None,
          organisation: Org = None) -> HTMLResponse:
    """An organisation's bill for a year, month by month, and its credit notes."""
    code = whose_bills(person, organisation) or person.organisation_code
    with session.begin():
        shown, years = _year(session, year)
        total = service.bills(session, shown, code)
        months = service.bills(session, shown, code, by_month=True)
        credits = service.statement(session, code, shown).credit_notes
    return render(request, "billing/bills.html", _context(
        organisation=code, year=shown, years=years, total=total[0] if total else None,
        months=months, credits=credits, own=code == person.organisation_code))


@router.get("/organisations")
def every_organisation(request: Request, person: Person, session: SessionDep,
                       year: Year = None) -> HTMLResponse:
    """Every organisation's bill for a year (auditors)."""
    ensure(can(person, Action.READ_REPORTS))
    with session.begin():
        shown, years = _year(session, year)
        found = service.bills(session, shown)
    return render(request, "billing/organisations.html", _context(
        year=shown, years=years, bills=found,
        total_pence=sum(b.total_pence for b in found), calls=sum(b.calls for b in found)))


@router.get("/statement")
def statement_page(request: Request, person: Person, session: SessionDep, year: Year = None,
                   organisation: Org = None,
                   page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> HTMLResponse:
    """An organisation's statement for a year: every charge and credit, and the totals."""
    code = whose_bills(person, organisation) or person.organisation_code
    with session.begin():
        shown, _ = _year(session, year)
        found = service.statement(session, code, shown)
    pages = max(1, -(-len(found.lines) // LINES_PER_PAGE))
    lines = found.lines[(page - 1) * LINES_PER_PAGE:page * LINES_PER_PAGE]
    return render(request, "billing/statement.html", _context(
        statement=found, lines=lines, page=page, pages=pages, organisation=code, year=shown))


@router.get("/statement.csv")
def statement_csv(person: Person, session: SessionDep, year: Year = None,
                  organisation: Org = None) -> Response:
    """The same statement as CSV, to download."""
    code = whose_bills(person, organisation) or person.organisation_code
    with session.begin():
        shown, _ = _year(session, year)
        text = service.statement_csv(session, code, shown)
    name = f"statement-{code}-{shown.replace('/', '-')}.csv"
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
