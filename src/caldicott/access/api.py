"""HTTP routes of people and access: who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from caldicott.access.core.roles import Action, scope_of, token_allows
from caldicott.access.deps import CurrentUser
from caldicott.access.schemas import Me, OrganisationOut, UserOut

router = APIRouter(prefix="/api", tags=["access"])

_UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid, expired or revoked API token (OperationOutcome)"},
}


@router.get("/me", response_model=Me, responses=_UNAUTHENTICATED)
def me(principal: CurrentUser) -> Me:
    """The caller's account, organisation, roles and permissions."""
    permissions = {}
    for action in Action:
        scope = scope_of(principal.roles, action, principal.organisation_kind)
        if scope is not None and token_allows(principal.token_scope, action):
            permissions[action.value] = scope.name.lower()
    return Me(
        user=UserOut(id=principal.user_id, email=principal.email, name=principal.name),
        organisation=OrganisationOut(id=principal.organisation_id,
                                     code=principal.organisation_code,
                                     name=principal.organisation_name,
                                     kind=principal.organisation_kind),
        roles=sorted(principal.roles),
        permissions=permissions,
        token_id=principal.token_id,
        token_scope=principal.token_scope.value,
    )
