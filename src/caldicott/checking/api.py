"""HTTP routes of the checking channel: run a check, an organisation's history, record an
on-site officer's encounter. Each route owns its transactions and checks role and
organisation; a refusal, a timeout and an open circuit are OperationOutcomes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from caldicott.access.core.policy import can
from caldicott.access.core.roles import Action
from caldicott.access.deps import CurrentUser, ensure
from caldicott.billing.core.years import local
from caldicott.checking import repository, service
from caldicott.checking.connector import connector_for
from caldicott.checking.core.answers import Person
from caldicott.checking.encounters import record_encounter
from caldicott.checking.flow import run_check, session_transaction
from caldicott.checking.schemas import CheckIn, CheckOut, CheckPage, EncounterIn, EncounterOut
from caldicott.db import utcnow
from caldicott.errors import InvalidInput
from caldicott.service.deps import SessionDep, SettingsDep
from caldicott.service.outcome import documented_errors

router = APIRouter(prefix="/api", tags=["status checks"])
_ERRORS = documented_errors({
    400: "Bad input", 401: "Missing or invalid API token",
    403: "Your role or organisation may not, or it has not signed its memorandum, or the "
         "agreement does not allow this check",
    422: "Invalid check", 503: "The checking service is unavailable (nothing sent or charged)",
    504: "The checking service did not answer in time (nothing charged)"})
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                              max_length=180, pattern=r"^[\x21-\x7e]+$")]


@router.post("/status-checks", status_code=201, response_model=CheckOut, responses={
    200: {"description": "A retry with the same Idempotency-Key", "model": CheckOut},
    **_ERRORS})
def check_status(item: CheckIn, principal: CurrentUser, session: SessionDep,
                 settings: SettingsDep, response: Response,
                 idempotency_key: IdempotencyKey = None) -> CheckOut:
    """Ask the Home Office checking service about a patient. Only the fields the agreement
    allows leave (name, nationality, date of birth); the answer comes back with the
    charging consequence. Every check is recorded in the ledger and charged per second."""
    ensure(can(principal, Action.RUN_STATUS_CHECK, principal.organisation_id))
    if item.checked_on is not None and not settings.replay_history:
        raise InvalidInput("checked_on is only for replaying history; a live check is "
                           "judged as of today")
    as_of = item.checked_on or local(utcnow()).date()
    form = service.CheckForm(Person(item.given_name, item.family_name, item.birth_date,
                                    item.nationality), item.purpose, item.nhs_number)
    row, created = run_check(session_transaction(session), settings, connector_for(settings),
                             service.Requester(principal.organisation_code,
                                               f"user/{principal.user_id}"),
                             form, as_of=as_of, client_key=idempotency_key)
    if not created:
        response.status_code = 200
    return CheckOut.of(row, principal.organisation_code)


@router.get("/status-checks", response_model=CheckPage, responses=_ERRORS)
def list_checks(principal: CurrentUser, session: SessionDep,
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> CheckPage:
    """Your organisation's checks, newest first."""
    ensure(can(principal, Action.RUN_STATUS_CHECK, principal.organisation_id))
    with session.begin():
        total, rows = service.history(session, principal.organisation_code, limit, offset)
        return CheckPage(total=total, items=[CheckOut.of(r, principal.organisation_code)
                                             for r in rows])


@router.post("/officer-encounters", status_code=201, response_model=EncounterOut,
             responses=_ERRORS)
def officer_encounter(item: EncounterIn, principal: CurrentUser, session: SessionDep,
                      settings: SettingsDep) -> EncounterOut:
    """Record an on-site immigration officer's spell: the patients they saw (a ledger
    entry) and the time (billed by the hour)."""
    ensure(can(principal, Action.RUN_STATUS_CHECK, principal.organisation_id))
    with session.begin():
        repository.begin_write(session)
        row = record_encounter(session, settings, service.Requester(
            principal.organisation_code, f"user/{principal.user_id}"), item.officer_reference,
            item.started_at, item.ended_at, item.patients)
        return EncounterOut(id=row.id, agreement=row.agreement,
                            agreement_version=row.agreement_version,
                            patients_seen=len(set(item.patients)))
