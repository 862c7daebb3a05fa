"""HTTP routes of trace requests. Each route owns its transactions; every one checks
role and organisation. Errors are FHIR OperationOutcomes (see ``caldicott.errors``)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, FastAPI, Header, Path, Query, Request, Response
from sqlalchemy.exc import IntegrityError

from caldicott.access.core.policy import can
from caldicott.access.core.roles import Action
from caldicott.access.deps import CurrentUser, ensure
from caldicott.access.reads import audit_read
from caldicott.errors import Conflict, NotFound, Unprocessable
from caldicott.requests import batch_io, repository, service, tracing, views, worker
from caldicott.requests.core.states import (
    REQUESTER_STATUSES,
    STATUSES,
    RequesterStatus,
    internal_statuses,
)
from caldicott.requests.schemas import (
    CATEGORIES,
    BatchOut,
    PublicInterestIn,
    ReviewIn,
    TraceRequestIn,
    TraceRequestOut,
    TraceRequestPage,
    ValidateIn,
)
from caldicott.service.deps import SessionDep, SettingsDep
from caldicott.service.outcome import documented_errors
from caldicott.settings import Settings


@asynccontextmanager
async def _keep_requests_moving(app: FastAPI) -> AsyncIterator[None]:
    """In the background: at start-up finish whatever a crash left half done, then every
    ``queue_seconds`` decide the requests queued under a suspended agreement (those
    whose agreement has since resumed or been withdrawn move on; the rest wait)."""
    sessions, settings = getattr(app.state, "sessions", None), getattr(app.state, "settings", None)
    if sessions is None or settings is None:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=_move_pending, args=(sessions, settings, stop),
                              daemon=True, name="trace-request-queue")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def _move_pending(sessions: Any, settings: Settings, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            worker.process_pending(sessions, settings, stop=stop)
        except Exception:  # a missing table on a fresh database must not stop the service
            worker.log.exception("could not move pending trace requests on")
        if not settings.queue_seconds or stop.wait(settings.queue_seconds):
            return


router = APIRouter(prefix="/api/trace-requests", tags=["trace requests"],
                   lifespan=_keep_requests_moving)

_ERRORS = documented_errors({
        400: "Bad input", 401: "Missing or invalid API token",
        403: "Your role or organisation may not do this", 404: "No such request you may see",
        409: "Conflict with the request's current state or an earlier Idempotency-Key",
        422: "Invalid request"})
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                              max_length=180, pattern=r"^[\x21-\x7e]+$")]


@router.post("", status_code=201, response_model=TraceRequestOut, responses={
    200: {"description": "A retry with the same Idempotency-Key: the request as it stands",
          "model": TraceRequestOut}, **_ERRORS})
def submit(item: TraceRequestIn, principal: CurrentUser, session: SessionDep,
           settings: SettingsDep, response: Response,
           idempotency_key: IdempotencyKey = None) -> TraceRequestOut:
    """Submit one tracing request. Its procedure and agreement are checked before this
    returns; a tracer validates it, a reviewer applies the public-interest test, and only
    then is anyone looked for. You see received, under consideration, refused (with the
    reasons), released, or closed with nothing released — never the trace itself."""
    try:
        with session.begin():
            repository.begin_write(session)
            row, created = service.submit(session, settings, principal, item, idempotency_key)
            if created:
                service.process_received(session, settings, row.id)
            shown = views.render(session, principal, [row])[0]
    except IntegrityError:  # a concurrent retry with the same key won the insert
        if idempotency_key is None:
            raise
        with session.begin():
            repository.begin_write(session)
            row, created = service.submit(session, settings, principal, item, idempotency_key)
            shown = views.render(session, principal, [row])[0]
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/trace-requests/{row.id}"
    return shown


@router.post("/batch", status_code=202, response_model=BatchOut, responses=_ERRORS,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {
                     "type": "object", "required": ["requests"], "additionalProperties": False,
                     "properties": {"requests": {
                         "type": "array", "minItems": 1, "maxItems": 10000,
                         "items": {"$ref": "#/components/schemas/TraceRequestIn"}}}}},
                 "text/csv": {"schema": {"type": "string"}}}}})
async def submit_batch(request: Request, principal: CurrentUser, settings: SettingsDep,
                       background: BackgroundTasks,
                       idempotency_key: IdempotencyKey = None) -> BatchOut:
    """Submit up to 10,000 requests as JSON or CSV; all are received, or none.

    They are decided and traced in the background; follow them with
    ``GET /api/trace-requests?batch_id=...``.
    """
    ensure(can(principal, Action.SUBMIT_REQUEST, principal.organisation_id))
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        items = batch_io.from_csv(body)
    elif kind in ("application/json", ""):
        items = batch_io.from_json(body)
    else:
        raise Unprocessable(f"send application/json or text/csv, not {kind}")
    from starlette.concurrency import run_in_threadpool

    batch_id, ids, created = await run_in_threadpool(
        _receive_batch, request, principal, settings, items, idempotency_key)
    if created:
        background.add_task(worker.process_many, request.app.state.sessions, settings, ids)
    return BatchOut(batch_id=batch_id, accepted=len(ids), request_ids=ids)


def _receive_batch(request: Request, principal: CurrentUser, settings: SettingsDep,
                   items: list[TraceRequestIn],
                   key: str | None) -> tuple[str, list[int], bool]:
    try:
        with request.app.state.sessions() as session, session.begin():
            repository.begin_write(session)
            return service.submit_batch(session, settings, principal, items, key)
    except IntegrityError:
        if key is None:
            raise
        with request.app.state.sessions() as session, session.begin():
            repository.begin_write(session)
            return service.submit_batch(session, settings, principal, items, key)


@router.get("", response_model=TraceRequestPage, responses=_ERRORS)
def list_requests(
    principal: CurrentUser, session: SessionDep, settings: SettingsDep,
    status: Annotated[Literal[STATUSES + REQUESTER_STATUSES] | None,  # type: ignore[valid-type]
                      Query(description="A requester filters by what they may see (received, "
                            "under_consideration, refused, released, person_deceased, closed)"
                      )] = None,
    batch_id: Annotated[str | None, Query(max_length=40, pattern=r"^[0-9a-f]+$")] = None,
    category: Annotated[Literal[CATEGORIES] | None, Query()] = None,  # type: ignore[valid-type]
    organisation: Annotated[str | None, Query(max_length=16,
                                              pattern=r"^[A-Za-z0-9-]+$")] = None,
    request_date_from: dt.date | None = None, request_date_to: dt.date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TraceRequestPage:
    """Requests you may see, newest first; an officer sees only their organisation's."""
    ensure(can(principal, Action.READ_REQUEST))
    with session.begin():
        repository.begin_write(session)  # the read is recorded in the ledger
        org_id = None
        if organisation is not None:
            org_id = repository.organisation_id(session, organisation)
            if org_id is None:
                raise NotFound(f"unknown organisation {organisation!r}")
        scope = views.organisation_scope(principal)
        if scope is not None:  # own organisation only
            if org_id not in (None, scope):
                raise NotFound(f"no requests of {organisation} that you may see")
            org_id = scope
        total, rows = repository.search(session, repository.ListFilter(
            organisation_id=org_id, statuses=_statuses(principal, status), batch_id=batch_id,
            category=category, received_from=request_date_from,
            received_to=request_date_to, limit=limit, offset=offset))
        shown = views.render(session, principal, rows)
        audit_read(session, settings, principal, "trace-requests",
                   subjects=sorted({r.matched_nhs_number for r in rows if r.matched_nhs_number}),
                   details={"shown": len(rows), "total": total})
        return TraceRequestPage(total=total, items=shown)


def _statuses(principal: CurrentUser, status: str | None) -> tuple[str, ...]:
    """A requester's filter covers the statuses they may see, and only those: filtering
    by ``no_trace`` would otherwise tell them what their status field hides."""
    if status is None:
        return ()
    if views.is_staff(principal):
        if status in STATUSES:
            return (status,)
        return internal_statuses(RequesterStatus(status))
    if status not in REQUESTER_STATUSES:
        raise Unprocessable(f"status {status!r}: filter by one of "
                            f"{', '.join(REQUESTER_STATUSES)}")
    return internal_statuses(RequesterStatus(status))


@router.get("/{request_id}", response_model=TraceRequestOut, responses=_ERRORS)
def get_request(request_id: RequestId, principal: CurrentUser, session: SessionDep,
                settings: SettingsDep) -> TraceRequestOut:
    """One request, as far as you may see it: a requester sees its status, the reasons of
    a refusal before the trace and what was released; staff see every step."""
    with session.begin():
        repository.begin_write(session)  # the read is recorded in the ledger
        row = views.visible(session, principal, request_id)
        shown = views.render(session, principal, [row])[0]
        audit_read(session, settings, principal, f"trace-request/{row.id}",
                   subjects=[row.matched_nhs_number] if row.matched_nhs_number else ())
        return shown


def _advance_and_trace(session: SessionDep, settings: SettingsDep, request_id: int) -> None:
    """After a step that approves a request for tracing, trace it in the same transaction
    (a savepoint: with no trained model yet, it waits for the worker)."""
    row = repository.get(session, request_id)
    if row is not None and row.status == "approved_for_trace":
        worker.trace_in(session, settings, request_id)


@router.post("/{request_id}/validate", response_model=TraceRequestOut, responses=_ERRORS)
def validate_request(request_id: RequestId, body: ValidateIn, principal: CurrentUser,
                     session: SessionDep, settings: SettingsDep) -> TraceRequestOut:
    """A tracer checks the procedure before anyone is looked for: accept, or reject with
    reason codes (missing countersignature, unauthorised signatory, subject
    under-identified, no offence given...)."""
    ensure(can(principal, Action.VALIDATE_REQUEST))
    with session.begin():
        repository.begin_write(session)
        row = views.visible(session, principal, request_id)
        service.validate(session, settings, principal, request_id, body.decision == "accept",
                         list(body.reasons), body.note)
        _advance_and_trace(session, settings, request_id)
        return views.render(session, principal, [row])[0]


@router.post("/{request_id}/public-interest", response_model=TraceRequestOut,
             responses=_ERRORS)
def decide_public_interest(request_id: RequestId, body: PublicInterestIn,
                           principal: CurrentUser, session: SessionDep,
                           settings: SettingsDep) -> TraceRequestOut:
    """A reviewer records the public-interest decision (gateway, seriousness, necessity,
    proportionality, harm to trust, vulnerability, whether the patient is told, their
    name and grade) before the trace; its hash goes into the ledger."""
    ensure(can(principal, Action.REVIEW_RELEASE))
    with session.begin():
        repository.begin_write(session)
        row = views.visible(session, principal, request_id)
        service.record_public_interest(session, settings, principal, request_id, body)
        _advance_and_trace(session, settings, request_id)
        return views.render(session, principal, [row])[0]


@router.post("/{request_id}/review", response_model=TraceRequestOut, responses=_ERRORS)
def review_request(request_id: RequestId, body: ReviewIn, principal: CurrentUser,
                   session: SessionDep, settings: SettingsDep) -> TraceRequestOut:
    """A reviewer decides a traced request: approve (the allowed fields, or first a less
    intrusive outcome: forward a letter, contact through the GP, confirm presence only),
    refuse, or confirm that the trace found nobody. Nobody approves a release they
    requested or ever traced; a version asking for two reviewers needs two."""
    ensure(can(principal, Action.REVIEW_RELEASE))
    with session.begin():
        repository.begin_write(session)
        views.visible(session, principal, request_id)
        row = tracing.review(session, settings, principal, request_id, body.decision,
                             body.reason, body.disclosure)
        return views.render(session, principal, [row])[0]


@router.post("/{request_id}/trace", response_model=TraceRequestOut, responses=_ERRORS)
def retrace_request(request_id: RequestId, principal: CurrentUser, session: SessionDep,
                    settings: SettingsDep) -> TraceRequestOut:
    """A tracer runs the trace (a request approved for tracing) or runs it again (one
    awaiting review); whoever traces may not then approve the release."""
    ensure(can(principal, Action.RUN_TRACE))
    with session.begin():
        repository.begin_write(session)
        row = views.visible(session, principal, request_id)
        if row.status not in ("approved_for_trace", "awaiting_review"):
            raise Conflict(f"trace request {request_id} is {row.status}; only a request "
                           "approved for tracing or awaiting review can be traced")
        tracing.trace_step(session, settings, request_id, tracer=principal)
        return views.render(session, principal, [row])[0]
