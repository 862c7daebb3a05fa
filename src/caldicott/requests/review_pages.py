"""The reviewer's pages: the queue of requests waiting for a reviewer, and one request's desk.

The queue (``/review``) and the desk (``/review/<id>``) read
:mod:`caldicott.requests.desk` (``review_queue``, ``review_desk``), which records each
read in the ledger. The desk's forms call the same use cases as the API:
``service.record_public_interest`` (then the trace, as ``POST .../public-interest``
does) and ``tracing.review``. Whether this reviewer may act, what would leave and why
nothing can are the desk's answers, shown as they come; nothing is decided here. A
form with a missing or invalid field, or a step the service refuses (someone else
decided first, a second approval by the same reviewer), comes back as the desk with an
NHS.UK error summary. No patient data goes in a URL (requests are named by id).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from caldicott.access.core.policy import can, ensure
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action
from caldicott.errors import CaldicottError
from caldicott.matching.core.waterfall import bits_text
from caldicott.requests import desk, repository, service, tracing, views, worker
from caldicott.requests.core.states import Status
from caldicott.requests.pages import released_details
from caldicott.requests.schemas import PublicInterestIn, ReviewIn
from caldicott.service.deps import SessionDep, SettingsDep
from caldicott.settings import Settings
from caldicott.web.deps import Person, PostedForm, page_router
from caldicott.web.home import HomeLink, register_link
from caldicott.web.templating import render

router = page_router(prefix="/review")
PAGE_SIZE = 25
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1)]

register_link(HomeLink("Review trace requests", "/review",
                       "Requests waiting for the public-interest test or for review of a "
                       "trace, oldest first: approve, refuse or confirm no trace",
                       Action.REVIEW_RELEASE, 30))

#: The public-interest form's fields and what to say when one is missing or blank.
PUBLIC_INTEREST_FIELDS = {
    "decision": "Select whether to disclose or refuse",
    "gateway": "Enter the statutory gateway relied on",
    "seriousness": "Enter how serious the matter is",
    "necessity": "Enter whether this could be done without the address, or without "
                 "disclosure at all",
    "proportionality": "Enter why disclosure is, or is not, proportionate",
    "harm_to_trust": "Enter the harm to patients' trust in the confidential health service",
    "vulnerability": "Enter the subject's vulnerability, as far as the request shows it",
    "patient_told": "Select whether the patient is told",
    "patient_told_reason": "Enter why the patient is, or is not, told",
    "decider_name": "Enter your name",
    "decider_grade": "Enter your grade",
}
REVIEW_FIELDS = {
    "decision": "Choose approve, refuse or confirm no trace",
    "disclosure": "Select what an approval releases",
    "reason": "Enter the reason for your decision",
}


def age_words(age: dt.timedelta) -> str:
    """How long a request has waited, as people say it (the two largest units).

    Example:
        >>> age_words(dt.timedelta(days=3, hours=4, minutes=5))
        '3 days 4 hours'
        >>> age_words(dt.timedelta(seconds=30))
        'less than a minute'
    """
    minutes = max(0, int(age.total_seconds() // 60))
    units = [(minutes // 1440, "day"), (minutes // 60 % 24, "hour"), (minutes % 60, "minute")]
    words = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in units if n]
    return " ".join(words[:2]) or "less than a minute"


@router.get("")
def review_queue(request: Request, person: Person, session: SessionDep, settings: SettingsDep,
                 after: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
                 ) -> HTMLResponse:
    """The requests waiting for a reviewer, oldest first, a page at a time."""
    ensure(can(person, Action.REVIEW_RELEASE))
    with session.begin():
        page = desk.review_queue(session, settings, person, after, PAGE_SIZE)
    return render(request, "requests/review/queue.html", {
        "page": page, "after": after, "age_words": age_words})


def _desk_page(request: Request, session: Session, settings: Settings, person: Principal,
               request_id: int, form: dict[str, Any] | None = None, status: int = 200,
               ) -> HTMLResponse:
    """One request's desk; ``form``: what a refused post held (``errors``, ``values``,
    ``which``: the public-interest or the review form)."""
    with session.begin():
        file = desk.review_desk(session, settings, person, request_id)
    leaving = [("What the requester is told" if label == "What was released" else label, words)
               for label, words in released_details(file.leaving.resource)
               ] if file.leaving else []
    form = form or {}
    return render(request, "requests/review/show.html", {
        "file": file, "item": file.item, "shown": file.item.request, "leaving": leaving,
        "errors": form.get("errors", {}), "values": form.get("values", {}),
        "which": form.get("which"), "age_words": age_words, "bits": bits_text},
        status_code=status)


@router.get("/{request_id}")
def review_desk(request: Request, request_id: RequestId, person: Person, session: SessionDep,
                settings: SettingsDep) -> HTMLResponse:
    """One waiting request: the request, its decision and clauses, the evidence, the forms."""
    return _desk_page(request, session, settings, person, request_id)


def _errors(error: ValidationError, messages: dict[str, str]) -> dict[str, str]:
    """Pydantic's complaints as one message per form field, in the form's order."""
    found: dict[str, str] = {}
    for problem in error.errors(include_url=False, include_input=False):
        name = str(problem["loc"][0]) if problem["loc"] else "form"
        found.setdefault(name, messages.get(name, problem["msg"]))
    return {name: found[name] for name in [*messages, *found] if name in found}


def _posted(form: FormData, names: dict[str, str]) -> dict[str, str]:
    """The form's fields, trimmed; blanks left out (so they read as missing)."""
    values = {name: str(form.get(name) or "").strip() for name in names}
    return {name: value for name, value in values.items() if value}


def _refused(request: Request, session: Session, settings: Settings, person: Principal,
             request_id: int, which: str, values: dict[str, str], errors: dict[str, str],
             status: int) -> HTMLResponse:
    return _desk_page(request, session, settings, person, request_id,
                      {"errors": errors, "values": values, "which": which}, status)


def _after_step(request_id: int, status: str) -> RedirectResponse:
    """Where the reviewer goes next: the desk again while the request still waits for a
    reviewer (traced and now awaiting review, or one approval of two), else its page."""
    target = f"/review/{request_id}" if status in desk.TASKS else f"/requests/{request_id}"
    return RedirectResponse(target, status_code=303)


@router.post("/{request_id}/public-interest")
def record_public_interest(request: Request, request_id: RequestId, person: Person,
                           session: SessionDep, settings: SettingsDep,
                           form: PostedForm) -> Response:
    """Record the public-interest decision; a disclosure is traced at once, as the API does."""
    ensure(can(person, Action.REVIEW_RELEASE))
    values = _posted(form, PUBLIC_INTEREST_FIELDS)
    try:
        record = PublicInterestIn.model_validate(values)
    except ValidationError as error:
        return _refused(request, session, settings, person, request_id, "public_interest",
                        values, _errors(error, PUBLIC_INTEREST_FIELDS), 400)
    try:
        status = _record(session, settings, person, request_id, record)
    except CaldicottError as refusal:
        if refusal.status_code != 409:
            raise
        return _refused(request, session, settings, person, request_id, "public_interest",
                        values, {"form": refusal.diagnostics}, 409)
    return _after_step(request_id, status)


def _record(session: Session, settings: Settings, person: Principal, request_id: int,
            record: PublicInterestIn) -> str:
    with session.begin():
        repository.begin_write(session)
        views.visible(session, person, request_id)  # a Guardian's own organisation's only
        service.record_public_interest(session, settings, person, request_id, record)
        row = repository.get(session, request_id)
        if row is not None and row.status == Status.APPROVED_FOR_TRACE:
            worker.trace_in(session, settings, request_id)  # no model yet: the worker will
        row = repository.get(session, request_id)
        return row.status if row is not None else ""


@router.post("/{request_id}/decision")
def decide(request: Request, request_id: RequestId, person: Person, session: SessionDep,
           settings: SettingsDep, form: PostedForm) -> Response:
    """Approve, refuse or confirm no trace, with the reason the reviewer must give."""
    ensure(can(person, Action.REVIEW_RELEASE))
    values = _posted(form, REVIEW_FIELDS)
    try:
        decision = ReviewIn.model_validate(values)
    except ValidationError as error:
        return _refused(request, session, settings, person, request_id, "review", values,
                        _errors(error, REVIEW_FIELDS), 400)
    try:
        with session.begin():
            repository.begin_write(session)
            views.visible(session, person, request_id)
            row = tracing.review(session, settings, person, request_id, decision.decision,
                                 decision.reason, decision.disclosure)
            status = row.status
    except CaldicottError as refusal:
        if refusal.status_code != 409:
            raise
        return _refused(request, session, settings, person, request_id, "review", values,
                        {"form": refusal.diagnostics}, 409)
    return _after_step(request_id, status)
