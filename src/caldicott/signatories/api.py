"""HTTP routes of the register of authorised signatories.

Administrators (who hold ``manage_users``: the register says who may sign for an
organisation, which is account management in all but name) read every
organisation's register, add officers and end their authority. A requesting
officer reads only their own organisation's register. Nobody else sees it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.exc import IntegrityError

from caldicott.access.core.policy import can
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action, Role
from caldicott.access.deps import CurrentUser, ensure
from caldicott.errors import Conflict, Forbidden
from caldicott.ledger.core.events import Agent
from caldicott.orgs.service import normalise_code
from caldicott.service.deps import SessionDep, SettingsDep
from caldicott.service.outcome import documented_errors
from caldicott.signatories import service
from caldicott.signatories.schemas import (
    ORGANISATION_CODE,
    SignatoryEnd,
    SignatoryIn,
    SignatoryOut,
)

router = APIRouter(prefix="/api/signatories", tags=["signatories"])

_ERRORS = documented_errors({
        400: "Bad input (an unknown rank, bad dates)", 401: "Missing or invalid API token",
        403: "Your role or organisation may not do this",
        404: "No such organisation or signatory", 409: "Already in the register, or already "
        "ended", 422: "Invalid request"})
SignatoryId = Annotated[int, Path(ge=1, le=2**31 - 1)]
OrganisationCode = Annotated[str | None, Query(pattern=ORGANISATION_CODE,
                                               description="One organisation's register")]


@router.get("", response_model=list[SignatoryOut], responses=_ERRORS)
def list_register(principal: CurrentUser, session: SessionDep,
                  org: OrganisationCode = None) -> list[SignatoryOut]:
    """The register of authorised signatories: every organisation's for an administrator,
    the caller's own organisation's for a requesting officer."""
    code = _readable_organisation(principal, org)
    with session.begin():
        return [SignatoryOut.of(row) for row in service.list_signatories(session, code)]


@router.post("", response_model=SignatoryOut, status_code=201, responses=_ERRORS)
def add(body: SignatoryIn, principal: CurrentUser, session: SessionDep,
        settings: SettingsDep) -> SignatoryOut:
    """Add an officer to an organisation's register (administrators only); one ledger entry."""
    ensure(can(principal, Action.MANAGE_USERS))
    try:
        with session.begin():
            row = service.add_signatory(
                session, settings, _agent(principal), organisation_code=body.organisation,
                full_name=body.full_name, rank=body.rank, staff_number=body.staff_number,
                valid_from=body.valid_from, valid_to=body.valid_to,
                role_title=body.role_title, may_countersign=body.may_countersign)
            return SignatoryOut.of(row)
    except IntegrityError:  # a concurrent add of the same number won the insert
        raise Conflict("that staff number was added to the register meanwhile") from None


@router.post("/{signatory_id}/end", response_model=SignatoryOut, responses=_ERRORS)
def end(signatory_id: SignatoryId, body: SignatoryEnd, principal: CurrentUser,
        session: SessionDep, settings: SettingsDep) -> SignatoryOut:
    """End an officer's authority: ``on`` is the last day they may sign (administrators
    only); one ledger entry."""
    ensure(can(principal, Action.MANAGE_USERS))
    with session.begin():
        row = service.end_signatory_by_id(session, settings, _agent(principal), signatory_id,
                                          body.on)
        return SignatoryOut.of(row)


def _readable_organisation(principal: Principal, org: str | None) -> str | None:
    """Whose register the caller may read: ``None`` is every organisation's."""
    if can(principal, Action.MANAGE_USERS):
        return org
    if principal.has_role(Role.REQUESTING_OFFICER):
        # The same 403 whether or not the other code exists: no oracle of organisations.
        if org is not None and normalise_code(org) != principal.organisation_code:
            raise Forbidden(f"you can see only {principal.organisation_code}'s register")
        return principal.organisation_code
    raise Forbidden("the register of signatories is for administrators and the "
                    "organisation's own requesting officers")


def _agent(principal: Principal) -> Agent:
    return Agent(f"user/{principal.user_id}", principal.organisation_code, "administrator")
