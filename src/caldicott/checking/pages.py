"""The overseas visitors manager's pages: run a status check, their organisation's checks,
one check.

Each handler calls the same functions as :mod:`caldicott.checking.api`
(``run_check``, ``service.history``, ``service.check_of``) and shows what they return.
A refusal, a timeout and an open circuit are messages on the page, never a 500. No
patient data goes in a URL (checks are named by id) or a log line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from caldicott.access.core.policy import can, ensure
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action
from caldicott.access.reads import audit_read
from caldicott.billing.core.years import local
from caldicott.checking import repository, service
from caldicott.checking.connector import connector_for
from caldicott.checking.core.answers import Person as Checked
from caldicott.checking.flow import run_check, session_transaction
from caldicott.checking.schemas import CheckIn, CheckOut
from caldicott.db import utcnow
from caldicott.errors import CaldicottError, GatewayTimeout, ServiceUnavailable
from caldicott.service.deps import SessionDep, SettingsDep
from caldicott.settings import Settings
from caldicott.web.deps import Person, PostedForm, page_router
from caldicott.web.home import HomeLink, register_link
from caldicott.web.templating import render

router = page_router(prefix="/status-checks")
PAGE_SIZE = 25
CheckId = Annotated[int, Path(ge=1, le=2**31 - 1)]

register_link(HomeLink("Check a patient's immigration status", "/status-checks/new",
                       "Ask the Home Office checking service whether a patient is chargeable "
                       "for NHS care; only the fields the agreement allows are sent",
                       Action.RUN_STATUS_CHECK, 30))
register_link(HomeLink("Status checks", "/status-checks",
                       "Your organisation's status checks, newest first, and what each "
                       "answered", Action.RUN_STATUS_CHECK, 31))

PURPOSES = {"entitlement_to_free_care": "Entitlement to free NHS care",
            "housing_eligibility": "Eligibility for housing",
            "benefits_eligibility": "Eligibility for benefits"}
#: Form field -> what to say when it is missing or wrong.
_MESSAGES = {
    "nhs_number": "Enter the patient's 10-digit NHS number",
    "given_name": "Enter the patient's given name",
    "family_name": "Enter the patient's family name",
    "birth_date": "Enter the patient's date of birth",
    "nationality": "Enter the patient's nationality",
    "purpose": "Select why you are checking",
}
_FIELD_IDS = {"birth_date": "birth_date-day"}
_TEXT = ("nhs_number", "given_name", "family_name", "nationality", "purpose")


def _blank(value: Any) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    return text or None


def _birth_date(form: FormData) -> tuple[str | None, str | None]:
    """The ISO date from the three boxes, or None; and an error, if the boxes are wrong."""
    parts = [_blank(form.get(f"birth_date[{p}]")) for p in ("day", "month", "year")]
    if not any(parts):
        return None, None
    try:
        day, month, year = (int(p or "") for p in parts)
        return dt.date(year, month, day).isoformat(), None
    except ValueError:
        return None, "Enter a real date of birth, for example 14 3 1984"


def _errors(error: ValidationError) -> dict[str, str]:
    """Pydantic's complaints as one message per form field, in the form's order."""
    found: dict[str, str] = {}
    for problem in error.errors(include_url=False, include_input=False):
        name = str(problem["loc"][0]) if problem["loc"] else "form"
        found.setdefault(_FIELD_IDS.get(name, name),
                         _MESSAGES.get(name, str(problem["msg"])))
    return found


def _order(field: str) -> int:
    names = ["nhs_number", "given_name", "family_name", "birth_date-day", "nationality",
             "purpose"]
    return names.index(field) if field in names else len(names)


def _form_page(request: Request, values: dict[str, Any], errors: dict[str, str],
               status: int = 200) -> HTMLResponse:
    return render(request, "checking/new.html", {
        "values": values, "errors": errors, "purposes": PURPOSES,
        "idempotency_key": values.get("idempotency_key") or secrets.token_hex(16)},
        status_code=status)


@router.get("/new")
def new_check(request: Request, person: Person) -> HTMLResponse:
    """The form to check one patient's immigration status."""
    ensure(can(person, Action.RUN_STATUS_CHECK, person.organisation_id))
    purpose = ("entitlement_to_free_care" if person.organisation_kind == "nhs_trust"
               else "housing_eligibility")
    return _form_page(request, {"purpose": purpose}, {})


def _validated(form: FormData) -> tuple[CheckIn | None, dict[str, str]]:
    body: dict[str, Any] = {name: _blank(form.get(name)) for name in _TEXT}
    birth_date, date_error = _birth_date(form)
    body = {name: value for name, value in {**body, "birth_date": birth_date}.items()
            if value is not None}
    try:
        item: CheckIn | None = CheckIn.model_validate(body)
        errors: dict[str, str] = {}
    except ValidationError as error:
        item, errors = None, _errors(error)
    if date_error:
        errors["birth_date-day"] = date_error
    return (item if not errors else None), dict(sorted(errors.items(),
                                                       key=lambda kv: _order(kv[0])))


@router.post("/new")
def submit_check(request: Request, person: Person, session: SessionDep,
                 settings: SettingsDep, form: PostedForm) -> Response:
    """Run the check as the API does: an answer, or a refusal, shows the check's page;
    invalid input, a timeout or an unavailable service comes back to the form."""
    ensure(can(person, Action.RUN_STATUS_CHECK, person.organisation_id))
    key = _blank(form.get("idempotency_key"))  # one per form shown: a double click is one
    key = key if key and re.fullmatch(r"[0-9a-f]{32}", key) else None
    values = {**{k: form.get(k) for k in form}, "idempotency_key": key}
    item, errors = _validated(form)
    if item is None:
        return _form_page(request, values, errors, 400)
    try:
        check_id = _run(session, settings, person, item, _check_key(key, item))
    except service.CheckRefused as refusal:
        return RedirectResponse(f"/status-checks/{refusal.check_id}", status_code=303)
    except (GatewayTimeout, ServiceUnavailable) as failure:
        return _form_page(request, values, {"form": _unanswered(failure)}, failure.status_code)
    except CaldicottError as refusal:
        if refusal.status_code not in (400, 403, 409, 422):
            raise
        field = "nhs_number" if "NHS number" in refusal.diagnostics else "form"
        return _form_page(request, values, {field: _sentence(refusal.diagnostics)},
                          refusal.status_code)
    return RedirectResponse(f"/status-checks/{check_id}", status_code=303)


def _check_key(form_key: str | None, item: CheckIn) -> str | None:
    """The check's idempotency key: the form's own and what it holds. The same form sent
    again (a double click, a retry after a timeout) is the same check, charged once; a
    form corrected after a refusal, or changed, is a new check."""
    if form_key is None:
        return None
    return f"{form_key}.{hashlib.sha256(item.model_dump_json().encode()).hexdigest()[:32]}"


def _run(session: Session, settings: Settings, person: Principal, item: CheckIn,
         key: str | None) -> int:
    form = service.CheckForm(Checked(item.given_name, item.family_name, item.birth_date,
                                     item.nationality), item.purpose, item.nhs_number)
    row, _ = run_check(session_transaction(session), settings, connector_for(settings),
                       service.Requester(person.organisation_code, f"user/{person.user_id}"),
                       form, as_of=local(utcnow()).date(), client_key=key)
    return row.id


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _unanswered(failure: CaldicottError) -> str:
    """The connector's message, and what to do: send the same form again (same key)."""
    text = failure.diagnostics.split("; the check is kept")[0]  # says nothing was charged
    return (f"{_sentence(text)} Send the form again to retry the same check: it is never "
            "charged twice.")


@router.get("")
def list_checks(request: Request, person: Person, session: SessionDep,
                page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> HTMLResponse:
    """The organisation's checks, newest first, a page at a time (no patient shown)."""
    ensure(can(person, Action.RUN_STATUS_CHECK, person.organisation_id))
    with session.begin():
        total, rows = service.history(session, person.organisation_code, PAGE_SIZE,
                                      (page - 1) * PAGE_SIZE)
        checks = [(row.created_at, CheckOut.of(row, person.organisation_code))
                  for row in rows]
    pages = max(1, -(-total // PAGE_SIZE))
    return render(request, "checking/list.html", {
        "checks": checks, "total": total, "page": page, "pages": pages,
        "purposes": PURPOSES})


@router.get("/{check_id}")
def show_check(request: Request, check_id: CheckId, person: Person, session: SessionDep,
               settings: SettingsDep) -> HTMLResponse:
    """One check: what was sent, what came back (or why nothing did), what was asked."""
    ensure(can(person, Action.RUN_STATUS_CHECK, person.organisation_id))
    with session.begin():
        repository.begin_write(session)  # the read is recorded in the ledger
        row = service.check_of(session, person.organisation_code, check_id)
        shown = CheckOut.of(row, person.organisation_code)
        asked = {"nhs_number": row.nhs_number, "name": f"{row.given_name} {row.family_name}",
                 "birth_date": row.birth_date, "nationality": row.nationality,
                 "asked_at": row.created_at}
        audit_read(session, settings, person, f"status-check/{row.id}",
                   subjects=[row.nhs_number] if row.nhs_number else ())
    return render(request, "checking/show.html", {"item": shown, "asked": asked,
                                                  "purposes": PURPOSES})
