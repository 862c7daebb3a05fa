"""``GET /fhir/Patient``: PDS-style patient search (tracers only).

Every search is a read of the register and is audited as PDS audits its
searches: one ledger entry per search naming the tracer and every patient
returned (as pseudonyms), with the reason the search was run. A search serves a
trace request (``X-Caldicott-Reason: trace-request/42``, an open request the
tracer may see) or is a break-glass search with a reason code
(``X-Caldicott-Reason: safeguarding``); a search without a reason is refused.
A tracer paging through the register faster than
``CALDICOTT_REGISTER_SEARCHES_PER_MINUTE`` is slowed (429) and flagged.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from caldicott.access.cli_support import DatabaseNotReady
from caldicott.access.core.policy import can
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action, Role
from caldicott.access.deps import access_state, require_role
from caldicott.access.guard import too_many
from caldicott.access.reads import audit_read, parse_reason, read_event, request_of
from caldicott.errors import CaldicottError, InvalidInput, NotFound
from caldicott.ledger.service import append_many
from caldicott.matching.core.pds_search import parse_search
from caldicott.matching.search import bundle, search_patients
from caldicott.service.deps import SessionDep, SettingsDep
from caldicott.settings import Settings

router = APIRouter(prefix="/fhir", tags=["fhir"])
Tracer = Annotated[Principal, Depends(require_role(Role.TRACER))]
Reason = Annotated[str | None, Header(
    alias="X-Caldicott-Reason",
    description="Why this search is run: the trace request it serves (trace-request/42) "
                "or, for a search outside a request (break-glass), a reason code such as "
                "safeguarding or incident/INC-42. Recorded in the ledger.")]
log = logging.getLogger("caldicott.access")


@router.get("/Patient", response_class=JSONResponse)
def search_patient(request: Request, session: SessionDep, settings: SettingsDep,
                   principal: Tracer, reason: Reason = None) -> JSONResponse:
    """Search the register as PDS does (family, given, birthdate, gender,
    address-postalcode, _fuzzy-match, _exact-match, _max-results or _count)."""
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    search = parse_search(params)
    why = parse_reason(reason)
    if why is None:
        raise InvalidInput("a register search needs a reason: send X-Caldicott-Reason with "
                           "the trace request it serves (trace-request/42) or, outside a "
                           "request, a reason code (e.g. safeguarding)")
    _pace(request, session, settings, principal)
    try:
        with session.begin():
            _check_request(session, principal, request_of(why))
            result = search_patients(session, search)
            body = bundle(session, result, str(request.base_url).rstrip("/") + "/fhir")
            _audit(session, settings, principal, why, body)
    except Exception as error:  # a search that cannot be recorded is not returned
        if not _database_error(session, error):
            raise
        log.error("register search by user %s not recorded, so refused: %s",
                  principal.user_id, _first_line(error))
        raise DatabaseNotReady("the database cannot record this search (read-only or full?), "
                               "so it was not run") from None
    headers = {"X-Caldicott-Model-Version": str(result.model_version)} if result.model_version \
        else {}
    return JSONResponse(body, media_type="application/fhir+json", headers=headers)


def _pace(request: Request, session: Session, settings: Settings, principal: Principal) -> None:
    """429 beyond the per-minute pace; the first refusal in a minute flags the tracer."""
    wait, flag = access_state(request.app).searches.check(principal.user_id)
    if wait is None:
        return
    if flag:
        limit = settings.register_searches_per_minute
        log.warning("register searches by user %s (%s) flagged: more than %d in a minute",
                    principal.user_id, principal.organisation_code, limit)
        try:
            with session.begin():
                append_many(session, settings, [read_event(
                    settings, principal, "register-search", kind="register-search-flagged",
                    outcome="refused", role=Role.TRACER.value,
                    details={"per_minute_limit": limit})])
        except Exception as error:  # the refusal stands; the log line is the record
            if not _database_error(session, error):
                raise
            log.error("could not record the flag on user %s: %s", principal.user_id,
                      _first_line(error))
    raise too_many("too many register searches in a minute", wait)


def _database_error(session: Session, error: Exception) -> bool:
    """Did the database refuse (read-only, full, gone)? The ledger writes through the
    driver's own connection, so its errors come unwrapped, as the driver's."""
    driver_error = session.get_bind().dialect.loaded_dbapi.Error
    return isinstance(error, OperationalError | driver_error) and not isinstance(
        error, CaldicottError)


def _first_line(error: Exception) -> str:
    return (str(getattr(error, "orig", None) or error) or type(error).__name__).splitlines()[0]


def _check_request(session: Session, principal: Principal, request_id: int | None) -> None:
    """A search that names a trace request serves an open one the tracer may see."""
    if request_id is None:
        return
    from caldicott.requests import repository as requests
    from caldicott.requests.core.states import is_closed

    row = requests.get(session, request_id)
    if row is None or not can(principal, Action.READ_REQUEST, row.organisation_id):
        raise NotFound(f"no trace request {request_id} that you may see")
    if is_closed(row.status):
        raise InvalidInput(f"trace request {request_id} is closed; a search outside an open "
                           "request needs a break-glass reason code")


def _audit(session: Session, settings: Settings, principal: Principal, why: str,
           body: dict[str, Any]) -> None:
    patients = [entry["resource"] for entry in body["entry"]
                if entry["resource"].get("resourceType") == "Patient"]
    restricted = sum(1 for p in patients if p["meta"]["security"][0]["code"] == "R")
    audit_read(session, settings, principal, "register-search", why=why,
               subjects=[p["id"] for p in patients], kind="register-search",
               role=Role.TRACER.value,
               details={"returned": len(patients), "restricted": restricted,
                        "break_glass": request_of(why) is None})
