"""HTTP routes of billing: bills per organisation per NHS financial year (or month), an
organisation's statement as CSV, credit notes for disputed calls. An overseas visitors
manager sees their own organisation's; an auditor every organisation's."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from caldicott.access.core.policy import can
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action
from caldicott.access.deps import CurrentUser, ensure
from caldicott.billing import service
from caldicott.billing.schemas import BillOut, CreditNoteIn, CreditNoteOut
from caldicott.errors import Forbidden
from caldicott.service.deps import SessionDep
from caldicott.service.outcome import documented_errors

router = APIRouter(prefix="/api/billing", tags=["billing"])
_ERRORS = documented_errors({400: "Bad input", 401: "Missing or invalid API token",
                             403: "Not your organisation's bills", 404: "No such organisation "
                             "or usage event", 409: "Already credited", 422: "Invalid input"})
Year = Annotated[str, Query(pattern=r"^\d{4}/\d{2}$", description="e.g. 2017/18")]
Org = Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9-]+$")]


def whose_bills(principal: Principal, organisation: str | None) -> str | None:
    """Whose bills the caller may read: any (an auditor), else only their own."""
    if can(principal, Action.READ_REPORTS):
        return organisation
    ensure(can(principal, Action.RAISE_INVOICE, principal.organisation_id))
    if organisation not in (None, principal.organisation_code):
        raise Forbidden("you may read only your own organisation's bills")
    return principal.organisation_code


@router.get("/bills", response_model=list[BillOut], responses=_ERRORS)
def bills(principal: CurrentUser, session: SessionDep, year: Year, organisation: Org = None,
          by: Literal["year", "month"] = "year") -> list[BillOut]:
    """Bills for an NHS financial year (1 April to 31 March), per organisation or per month."""
    org = whose_bills(principal, organisation)
    with session.begin():
        return [BillOut.of(b) for b in service.bills(session, year, org, by_month=by == "month")]


@router.get("/statement", response_class=Response, responses={
    200: {"content": {"text/csv": {}}, "description": "The statement as CSV"}, **_ERRORS})
def statement(principal: CurrentUser, session: SessionDep, year: Year,
              organisation: Org = None) -> Response:
    """An organisation's statement for a year: every charge and credit, and the total."""
    org = whose_bills(principal, organisation) or principal.organisation_code
    with session.begin():
        text = service.statement_csv(session, org, year)
    name = f"statement-{org}-{year.replace('/', '-')}.csv"
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/credit-notes", status_code=201, response_model=CreditNoteOut, responses=_ERRORS)
def credit_note(item: CreditNoteIn, principal: CurrentUser,
                session: SessionDep) -> CreditNoteOut:
    """Credit a disputed call in full (a reviewer upholding a complaint about a wrong answer)."""
    ensure(can(principal, Action.UPHOLD_COMPLAINT))
    with session.begin():
        row = service.issue_credit_note(session, item.event_id, item.reason,
                                        f"user/{principal.user_id}")
        return CreditNoteOut(id=row.id, event_id=item.event_id, amount_pence=row.amount_pence)
