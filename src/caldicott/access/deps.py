"""FastAPI dependencies every route uses to know who is calling and what they may do.

    @router.get("/things/{org_id}")
    def things(principal: CurrentUser, org_id: int) -> ...:
        require_same_org(principal, org_id)

    @router.post("/traces", dependencies=[Depends(require_role(Role.TRACER))])

Authentication reads ``Authorization: Bearer <token>``; a missing, malformed,
unknown, expired or revoked token is a 401 ``OperationOutcome`` with an RFC 6750
``WWW-Authenticate`` challenge. A known caller without the right role or
organisation is a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from caldicott.access.core.policy import Verdict, can
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action, Role
from caldicott.access.service import TokenRejected, authenticate
from caldicott.errors import Forbidden
from caldicott.service.deps import SessionDep

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="An API token from `caldicott token create` (starts with `cald_`).",
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _challenge(rejection: TokenRejected) -> HTTPException:
    header = 'Bearer realm="caldicott"'
    if rejection.reason:
        header += f', error="{rejection.reason}", error_description="{rejection.diagnostics}"'
    return HTTPException(status_code=401, detail=rejection.diagnostics,
                         headers={"WWW-Authenticate": header})


def current_user(session: SessionDep, credentials: BearerCredentials) -> Principal:
    """The caller, from their bearer token; 401 with a challenge if there is none valid.

    Runs in a short transaction of its own (it records the token's last use), so
    the route can still open its own with ``session.begin()``.
    """
    token = credentials.credentials if credentials else None
    try:
        if session.in_transaction():
            return authenticate(session, token)
        with session.begin():
            return authenticate(session, token)
    except TokenRejected as rejection:
        raise _challenge(rejection) from None


CurrentUser = Annotated[Principal, Depends(current_user)]


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through only callers holding one of ``roles`` (else 403).

    Example:
        >>> Reviewer = Annotated[Principal, Depends(require_role(Role.REVIEWER))]
    """
    wanted = ", ".join(sorted(r.value for r in roles))

    def dependency(principal: CurrentUser) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden(f"this needs the role {wanted}; you hold "
                            f"{', '.join(sorted(principal.roles)) or 'no role'}")
        return principal

    return dependency


def require_action(action: Action) -> Callable[[Principal], Principal]:
    """A dependency that lets through callers the access matrix allows ``action`` (else 403).

    Own-organisation grants still need :func:`require_allowed` with the data's owner.
    """

    def dependency(principal: CurrentUser) -> Principal:
        ensure(can(principal, action))
        return principal

    return dependency


def require_same_org(principal: Principal, organisation_id: int) -> None:
    """403 unless ``principal`` belongs to the organisation that owns the data.

    Example:
        >>> require_same_org(principal, request_row.organisation_id)  # doctest: +SKIP
    """
    if principal.organisation_id != organisation_id:
        raise Forbidden(f"this belongs to another organisation; you can see only "
                        f"{principal.organisation_code}'s")


def require_allowed(principal: Principal, action: Action, organisation_id: int) -> None:
    """403 unless the matrix allows ``action`` on data owned by ``organisation_id``."""
    ensure(can(principal, action, organisation_id=organisation_id))


def ensure(verdict: Verdict) -> None:
    """Turn a refusing :class:`Verdict` (from ``can`` or ``may_review``) into a 403."""
    if not verdict.allowed:
        raise Forbidden(verdict.reason)
