"""The tracer's pages: the validation queue and a request's validation; batches of requests.

- ``/validate``: the requests awaiting validation, oldest first, each with its age
  (:func:`caldicott.requests.validation.validation_queue`);
- ``/validate/<id>``: one request to accept, or reject with reason codes (the API's
  codes, through :func:`caldicott.requests.service.validate`, as
  ``POST /api/trace-requests/<id>/validate`` does);
- ``/batches``, ``/batches/new``: the latest batches, and uploading one (the file format of
  ``POST /api/trace-requests/batch``, :mod:`caldicott.requests.batch_io`);
- ``/batches/<batch id>``: its progress, refreshed by the browser without JavaScript;
- ``/batches/<batch id>/results.csv``: its results, as far as the viewer may see them.

No patient data goes in a URL (requests by id, batches by a random id) or a log line.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from typing import Annotated, Any

from fastapi import BackgroundTasks, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from caldicott.access.core.policy import can, ensure
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action
from caldicott.errors import CaldicottError, Unprocessable
from caldicott.requests import batch_io, batches, repository, service, validation, worker
from caldicott.requests.core.states import Status
from caldicott.requests.pages import released_details
from caldicott.requests.schemas import TraceRequestIn, TraceRequestOut, ValidateIn
from caldicott.service.deps import SessionDep, SettingsDep
from caldicott.settings import Settings
from caldicott.web.deps import Person, PostedForm, page_router
from caldicott.web.home import HomeLink, register_link
from caldicott.web.templating import render

router = page_router()
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1)]
BatchId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
REFRESH_SECONDS = 5

register_link(HomeLink("Requests awaiting validation", "/validate",
                       "Check that each request follows the procedure before anyone is "
                       "looked for: accept it, or reject it with the reasons",
                       Action.VALIDATE_REQUEST, 30))
register_link(HomeLink("Upload a batch of requests", "/batches/new",
                       "Send many requests at once in a CSV or JSON file, follow their "
                       "progress and download the results", Action.SUBMIT_REQUEST, 15))
register_link(HomeLink("Batches of requests", "/batches",
                       "The latest batches, how far each has gone, and their results",
                       Action.VALIDATE_REQUEST, 35))


# --- validation -------------------------------------------------------------------------

@router.get("/validate")
def validation_queue(request: Request, person: Person, session: SessionDep,
                     settings: SettingsDep,
                     after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0) -> HTMLResponse:
    """The requests awaiting validation, oldest first, with their age."""
    ensure(can(person, Action.VALIDATE_REQUEST))
    with session.begin():
        queue = validation.validation_queue(session, settings, person, after or None)
    return render(request, "requests/tracer/queue.html", {"queue": queue, "after": after})


def _file_page(request: Request, session: Session, settings: Settings, person: Principal,
               request_id: int, values: dict[str, Any], errors: dict[str, str],
               status: int = 200) -> HTMLResponse:
    with session.begin():
        found = validation.validation_file(session, settings, person, request_id)
    return render(request, "requests/tracer/validate.html", {
        "found": found, "item": found.item.request, "values": values, "errors": errors,
        "reasons": validation.REJECTION_REASONS}, status_code=status)


@router.get("/validate/{request_id}")
def validation_page(request: Request, request_id: RequestId, person: Person,
                    session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """One request to validate (or, once validated, where it went)."""
    ensure(can(person, Action.VALIDATE_REQUEST))
    return _file_page(request, session, settings, person, request_id, {}, {})


_VALIDATION_MESSAGES = {
    "decision": "Select whether you accept or reject the request",
    "reasons": "Select only the reasons listed",
    "note": "Enter a note of what you checked (at most 2,000 characters)",
}


def _validation_errors(error: ValidationError) -> dict[str, str]:
    """Pydantic's complaints as one message per form field."""
    found: dict[str, str] = {}
    for problem in error.errors(include_url=False, include_input=False):
        field = str(problem["loc"][0]) if problem["loc"] else "decision"
        plain = problem["type"] in ("missing", "string_too_short", "string_too_long",
                                    "literal_error", "too_long", "string_type")
        message = str(problem["msg"]).removeprefix("Value error, ")
        found.setdefault(field, _VALIDATION_MESSAGES.get(field, message) if plain
                         else f"{field.capitalize()}: {message}")
    return found


@router.post("/validate/{request_id}")
def validate_request(request: Request, request_id: RequestId, person: Person,
                     session: SessionDep, settings: SettingsDep, form: PostedForm) -> Response:
    """Accept, or reject with reason codes: invalid input comes back with an error summary;
    a request validated meanwhile by someone else is a 409 page."""
    ensure(can(person, Action.VALIDATE_REQUEST))
    reasons = [str(r) for r in form.getlist("reasons")]
    values: dict[str, Any] = {"decision": form.get("decision"), "reasons": reasons,
                              "note": str(form.get("note") or "").strip()}
    try:
        body = ValidateIn.model_validate({"decision": values["decision"] or None,
                                          "note": values["note"] or None, "reasons": reasons})
    except ValidationError as error:
        return _file_page(request, session, settings, person, request_id, values,
                          _validation_errors(error), 400)
    with session.begin():
        repository.begin_write(session)
        target = service.validate(session, settings, person, request_id,
                                  body.decision == "accept", list(body.reasons), body.note)
        if target is Status.APPROVED_FOR_TRACE:  # no public-interest test: trace it now
            worker.trace_in(session, settings, request_id)
    return RedirectResponse(f"/validate/{request_id}", status_code=303)


# --- batches ----------------------------------------------------------------------------

@router.get("/batches")
def batch_list(request: Request, person: Person, session: SessionDep) -> HTMLResponse:
    """The latest batches this person may see, newest first."""
    ensure(can(person, Action.READ_REQUEST))
    with session.begin():
        found = batches.recent(session, person)
    return render(request, "requests/tracer/batches.html", {
        "batches": found, "may_upload": bool(can(person, Action.SUBMIT_REQUEST,
                                                 person.organisation_id))})


def _upload_page(request: Request, settings: Settings, errors: dict[str, str],
                 status: int = 200) -> HTMLResponse:
    return render(request, "requests/tracer/upload.html", {
        "errors": errors, "idempotency_key": secrets.token_hex(16),
        "limit_mb": settings.max_batch_body_bytes // 2**20}, status_code=status)


@router.get("/batches/new")
def upload_form(request: Request, person: Person, settings: SettingsDep) -> HTMLResponse:
    """The form to upload a batch file."""
    ensure(can(person, Action.SUBMIT_REQUEST, person.organisation_id))
    return _upload_page(request, settings, {})


def _read_upload(upload: Any, settings: Settings) -> list[TraceRequestIn]:
    """The requests in the uploaded file; :class:`Unprocessable` saying what is wrong."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Unprocessable("Select a CSV or JSON file of trace requests")
    name = upload.filename.lower()
    if not name.endswith((".csv", ".json")):
        raise Unprocessable("The selected file must be a CSV (.csv) or JSON (.json) file")
    content = upload.file.read(settings.max_batch_body_bytes + 1)
    if len(content) > settings.max_batch_body_bytes:
        raise Unprocessable(f"The selected file must be smaller than "
                            f"{settings.max_batch_body_bytes // 2**20} MB")
    if not content.strip():
        raise Unprocessable("The selected file is empty")
    return batch_io.from_csv(content) if name.endswith(".csv") else batch_io.from_json(content)


def _receive(request: Request, person: Principal, settings: Settings,
             items: list[TraceRequestIn], key: str | None) -> tuple[str, list[int], bool]:
    for attempt in (1, 2):  # a concurrent double-submit with the same key: find its batch
        try:
            with request.app.state.sessions() as session, session.begin():
                repository.begin_write(session)
                return service.submit_batch(session, settings, person, items, key)
        except IntegrityError:
            if key is None or attempt == 2:
                raise
    raise AssertionError("unreachable")


@router.post("/batches/new")
def upload_batch(request: Request, person: Person, settings: SettingsDep, form: PostedForm,
                 background: BackgroundTasks) -> Response:
    """Receive the file's requests (all, or none with the reasons), then check and decide
    them in the background; the browser goes to the batch's progress."""
    ensure(can(person, Action.SUBMIT_REQUEST, person.organisation_id))
    key = str(form.get("idempotency_key") or "")
    key_or_none = key if re.fullmatch(r"[0-9a-f]{32}", key) else None
    try:
        items = _read_upload(form.get("batch_file"), settings)
        batch_id, ids, created = _receive(request, person, settings, items, key_or_none)
    except CaldicottError as refusal:
        if refusal.status_code not in (400, 409, 422):
            raise
        return _upload_page(request, settings, {"batch_file": refusal.diagnostics}, 400)
    if created:
        background.add_task(worker.process_many, request.app.state.sessions, settings, ids)
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


@router.get("/batches/{batch_id}")
def batch_progress(request: Request, batch_id: BatchId, person: Person, session: SessionDep,
                   auto: Annotated[bool, Query()] = False) -> HTMLResponse:
    """How far the batch has gone. It changes when the person asks (a link, no
    JavaScript), or, if they chose it (``?auto=1``), reloads itself until done: a page
    that reloads without being asked gets in the way of a screen reader (WCAG 2.2.1)."""
    with session.begin():
        found = batches.progress(session, person, batch_id)
    response = render(request, "requests/tracer/progress.html", {
        "progress": found, "refresh": REFRESH_SECONDS if auto and not found.done else None,
        "refresh_choice": REFRESH_SECONDS})
    response.headers["Cache-Control"] = "no-store"
    return response


_CSV_COLUMNS = ("request", "case_reference", "received_at", "status", "refused", "reasons",
                "released_at", "released")


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text (never runs as a formula)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _result_row(item: TraceRequestOut) -> list[str]:
    reasons = item.refusal.reasons if item.refusal else []
    released = released_details(item.release.resource) if item.release else []
    return [_cell(v) for v in (
        item.id, item.case_reference, item.received_at.isoformat(), item.status,
        item.refusal.kind if item.refusal else "",
        " | ".join(f"{r.clause}: {r.text}" for r in reasons),
        item.release.released_at.isoformat() if item.release else "",
        " | ".join(f"{label}: {words}" for label, words in released))]


@router.get("/batches/{batch_id}/results.csv")
def batch_results(batch_id: BatchId, person: Person, session: SessionDep,
                  settings: SettingsDep) -> Response:
    """The batch's results as CSV: one row per request, as far as this person may see it."""
    with session.begin():
        shown = batches.results(session, settings, person, batch_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_CSV_COLUMNS)
    writer.writerows(_result_row(item) for item in shown)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="trace-request-results.csv"',
        "Cache-Control": "no-store"})
