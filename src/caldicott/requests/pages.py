"""The requester's pages: submit a trace request, their organisation's requests, one request.

Each handler calls the same functions as :mod:`caldicott.requests.api` (``service.submit``,
``views.visible``, ``views.render``, ``audit_read``) and shows what they return: a
requester sees only what :mod:`caldicott.requests.views` lets a requester see. No
patient data goes in a URL (requests are named by id) or a log line.
"""

from __future__ import annotations

import datetime as dt
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
from caldicott.agreements import service as agreements
from caldicott.agreements.core import Channel
from caldicott.errors import CaldicottError
from caldicott.matching.core.identifiers import FIELDS, why_untraceable
from caldicott.requests import repository, service, views
from caldicott.requests.schemas import CATEGORIES, DEFAULT_FIELDS, TRACE_FIELDS, TraceRequestIn
from caldicott.service.deps import SessionDep, SettingsDep
from caldicott.settings import Settings
from caldicott.web.deps import Person, PostedForm, page_router
from caldicott.web.home import HomeLink, register_link
from caldicott.web.templating import render

router = page_router(prefix="/requests")
PAGE_SIZE = 25
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1)]

register_link(HomeLink("Submit a trace request", "/requests/new",
                       "Ask NHS Digital to find a person's current address, under the "
                       "agreement your organisation works under", Action.SUBMIT_REQUEST, 10))
register_link(HomeLink("Trace requests", "/requests",
                       "The trace requests you may see, newest first, and what has happened "
                       "to each", Action.READ_REQUEST, 20))

#: Form field -> (the schema's field, what to say when it is missing or blank).
_TEXT_FIELDS = {
    "given_name": "Enter the person's given name, or leave it blank if they have none",
    "family_name": "Enter the person's family name, or leave it blank if not known",
    "postcode": "Enter a postcode, or leave it blank",
    "address_line": "Enter the first line of the address, or leave it blank",
    "case_reference": "Enter your case reference",
    "justification": "Enter why you need to trace this person",
    "requesting_officer": "Enter your staff or warrant number",
    "countersigning_officer": "Enter the countersigning officer's staff or warrant number",
    "purpose": "Select the purpose",
    "category": "Select the category",
    "requested_fields": "Select at least one field you ask for",
}
_FIELD_IDS = {"birth_date": "birth_date-day", "suspected_offence": "offence_statute",
              "requested_fields": "requested_fields", "sex": "sex", "urgency": "urgency"}


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


def _body(form: FormData) -> dict[str, Any]:
    """The submit schema's body from the form (the same shape the API takes)."""
    body: dict[str, Any] = {name: _blank(form.get(name)) for name in _TEXT_FIELDS}
    body.update(sex=_blank(form.get("sex")), urgency=_blank(form.get("urgency")) or "routine",
                requested_fields=[str(f) for f in form.getlist("requested_fields")],
                subject_vulnerable=form.get("subject_vulnerable") == "yes",
                alternatives_exhausted=form.get("alternatives_exhausted") == "yes",
                alternatives_tried=[line.strip() for line in str(
                    form.get("alternatives_tried") or "").splitlines() if line.strip()])
    statute, section = _blank(form.get("offence_statute")), _blank(form.get("offence_section"))
    if statute or section:
        body["suspected_offence"] = {"statute": statute or "", "section": section or ""}
    return {name: value for name, value in body.items() if value is not None}


def _untraceable(body: dict[str, Any], birth_date: str | None) -> dict[str, str]:
    """The intake rule's refusal of a subject with nothing identifying left (the same
    rule the service applies), shown beside the other fields' messages."""
    present = {f for f in FIELDS if (birth_date if f == "birth_date" else body.get(f))}
    why = why_untraceable(present)
    return {"given_name": f"The person cannot be traced from this: {why}"} if why else {}


def _errors(error: ValidationError) -> dict[str, str]:
    """Pydantic's complaints as one message per form field, in the form's order."""
    found: dict[str, str] = {}
    for problem in error.errors(include_url=False, include_input=False):
        location = [str(part) for part in problem["loc"]]
        name = location[0] if location else "form"
        field = _FIELD_IDS.get(name, name)
        if name in _TEXT_FIELDS and problem["type"] in ("missing", "string_too_short",
                                                         "value_error", "literal_error",
                                                         "too_short"):
            message = _TEXT_FIELDS[name]
        else:
            label = " ".join(location).replace("_", " ")
            message = f"{label.capitalize()}: {problem['msg'].removeprefix('Value error, ')}"
        found.setdefault(field, message)
    return found


def _purposes(session: Session, settings: Settings, person: Principal) -> list[tuple[str, str]]:
    """The purposes of the agreement this person's organisation asks under today."""
    try:
        agreement = agreements.agreement_for_request(
            session, settings, Channel.TRACE, person.organisation_kind,
            person.organisation_code, dt.date.today())
    except CaldicottError:
        return []
    version = agreement.version_on(dt.date.today())
    return [(p.code, p.text) for p in version.purposes] if version else []


def _form_page(request: Request, session: Session, settings: Settings, person: Principal,
               values: dict[str, Any], errors: dict[str, str], status: int = 200) -> HTMLResponse:
    with session.begin():
        purposes = _purposes(session, settings, person)
    return render(request, "requests/new.html", {
        "values": values, "errors": errors, "purposes": purposes, "categories": CATEGORIES,
        "fields": TRACE_FIELDS, "idempotency_key": values.get("idempotency_key")
        or secrets.token_hex(16)}, status_code=status)


@router.get("/new")
def new_request(request: Request, person: Person, session: SessionDep,
                settings: SettingsDep) -> HTMLResponse:
    """The form to submit one trace request."""
    ensure(can(person, Action.SUBMIT_REQUEST, person.organisation_id))
    return _form_page(request, session, settings, person,
                      {"requested_fields": list(DEFAULT_FIELDS), "urgency": "routine"}, {})


@router.post("/new")
def submit_request(request: Request, person: Person, session: SessionDep,
                   settings: SettingsDep, form: PostedForm) -> Response:
    """Submit the form: invalid input comes back with an error summary; otherwise the
    request is received and decided as the API does, and its page is shown."""
    ensure(can(person, Action.SUBMIT_REQUEST, person.organisation_id))
    key = _blank(form.get("idempotency_key"))  # one per form shown: a double click is one
    key = key if key and re.fullmatch(r"[0-9a-f]{32}", key) else None
    values = {**{k: form.get(k) for k in form}, "requested_fields": form.getlist(
        "requested_fields"), "idempotency_key": key}
    body = _body(form)
    birth_date, date_error = _birth_date(form)
    errors = {**_untraceable(body, birth_date or date_error)}
    if date_error:
        errors["birth_date-day"] = date_error
    try:
        item = TraceRequestIn.model_validate({**body, "birth_date": birth_date})
    except ValidationError as error:
        errors = {**errors, **_errors(error)}
    if errors:
        return _form_page(request, session, settings, person, values, errors, 400)
    try:
        request_id = _submit(session, settings, person, item, key)
    except CaldicottError as refusal:
        if refusal.status_code not in (400, 409, 422):
            raise
        return _form_page(request, session, settings, person, values,
                          {"form": refusal.diagnostics}, 400)
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


def _submit(session: Session, settings: Settings, person: Principal, item: TraceRequestIn,
            key: str | None) -> int:
    with session.begin():
        repository.begin_write(session)
        row, created = service.submit(session, settings, person, item, key)
        if created:
            service.process_received(session, settings, row.id)
        return row.id


@router.get("")
def list_requests(request: Request, person: Person, session: SessionDep,
                  settings: SettingsDep,
                  page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> HTMLResponse:
    """The requests this person may see, newest first, a page at a time."""
    ensure(can(person, Action.READ_REQUEST))
    with session.begin():
        repository.begin_write(session)  # the read is recorded in the ledger
        total, rows = repository.search(session, repository.ListFilter(
            organisation_id=views.organisation_scope(person), limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE))
        shown = views.render(session, person, rows)
        audit_read(session, settings, person, "trace-requests",
                   subjects=sorted({r.matched_nhs_number for r in rows if r.matched_nhs_number}),
                   details={"shown": len(rows), "total": total})
    pages = max(1, -(-total // PAGE_SIZE))
    return render(request, "requests/list.html", {
        "requests": shown, "total": total, "page": page, "pages": pages})


@router.get("/{request_id}")
def show_request(request: Request, request_id: RequestId, person: Person, session: SessionDep,
                 settings: SettingsDep) -> HTMLResponse:
    """One request as far as this person may see it."""
    with session.begin():
        repository.begin_write(session)  # the read is recorded in the ledger
        row = views.visible(session, person, request_id)
        shown = views.render(session, person, [row])[0]
        audit_read(session, settings, person, f"trace-request/{row.id}",
                   subjects=[row.matched_nhs_number] if row.matched_nhs_number else ())
    released = released_details(shown.release.resource) if shown.release else []
    return render(request, "requests/show.html", {"item": shown, "released": released})


def released_details(resource: dict[str, Any]) -> list[tuple[str, str]]:
    """What a release's FHIR Patient holds, as label and words (only what it holds).

    Example:
        >>> released_details({"birthDate": "1980-01-02"})
        [('Date of birth', '2 January 1980')]
    """
    rows: list[tuple[str, str]] = []
    for name in resource.get("name", []):
        words = " ".join([*name.get("given", []), name.get("family", "")]).strip()
        rows.append(("Name" if name.get("use") != "old" else "Previous name", words))
    if "gender" in resource:
        rows.append(("Sex", str(resource["gender"])))
    if "birthDate" in resource:
        rows.append(("Date of birth", f"{dt.date.fromisoformat(resource['birthDate']):%-d %B %Y}"))
    for address in resource.get("address", []):
        parts = [*address.get("line", []), address.get("city"), address.get("postalCode")]
        rows.append(("Address", ", ".join(p for p in parts if p)))
    for contained in resource.get("contained", []):
        if contained.get("resourceType") == "Organization":
            rows.append(("GP practice", str(contained.get("name", ""))))
    for extension in resource.get("extension", []):
        concept = extension.get("valueCodeableConcept")
        if concept and concept.get("text"):
            rows.append(("What was released", str(concept["text"])))
    if resource.get("deceasedBoolean"):
        rows.append(("Deceased", "Yes"))
    return rows
