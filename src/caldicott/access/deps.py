"""FastAPI dependencies every route uses to know who is calling and what they may do.

    @router.get("/things/{org_id}")
    def things(principal: CurrentUser, org_id: int) -> ...:
        require_same_org(principal, org_id)

    @router.post("/traces", dependencies=[Depends(require_role(Role.TRACER))])

Authentication reads ``Authorization: Bearer <token>``; a missing, malformed,
unknown, expired or revoked token, or one whose user is disabled, is the same
401 ``OperationOutcome`` with the same RFC 6750 ``WWW-Authenticate`` challenge
(the reason goes to the server log). A known caller without the right role or
organisation, or whose token's scope does not cover the action, is a 403.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from caldicott.access import service
from caldicott.access.core.policy import can
from caldicott.access.core.policy import ensure as ensure  # re-exported for the edges
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action, Role, TokenScope
from caldicott.access.core.tokens import hash_token
from caldicott.access.guard import AuthFailureGuard, SearchPace, too_many
from caldicott.access.repository import Credentials
from caldicott.access.service import REFUSED_TOKEN, TokenRejected
from caldicott.db import utcnow
from caldicott.errors import Forbidden
from caldicott.service.deps import SessionDep
from caldicott.settings import Settings

log = logging.getLogger("caldicott.access")

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="An API token from `caldicott token create` (starts with `cald_`).",
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_STATE_LOCK = threading.Lock()


class AccessState:
    """What one running service remembers between requests: the rate limits, and which
    tokens' last use it recorded lately (so it does not try again on every call)."""

    def __init__(self, settings: Settings) -> None:
        self.auth = AuthFailureGuard(limit=settings.auth_failure_limit)
        self.searches = SearchPace(settings.register_searches_per_minute)
        self.touched: dict[int, float] = {}


def access_state(app: Any) -> AccessState:
    """The app's :class:`AccessState`, made on first use."""
    state: AccessState | None = getattr(app.state, "access", None)
    if state is None:
        with _STATE_LOCK:
            state = getattr(app.state, "access", None)
            if state is None:
                state = app.state.access = AccessState(app.state.settings)
    return state


def _refused() -> HTTPException:
    # One body and one challenge for every refused token: whether a token exists, was
    # revoked, expired or belongs to a disabled account is not the caller's to learn.
    return HTTPException(status_code=401, detail=REFUSED_TOKEN,
                         headers={"WWW-Authenticate": 'Bearer realm="caldicott"'})


def _record_use(sessions: sessionmaker[Session], token_id: int) -> None:
    """After the response: note the token's last use. Best-effort by design: a read-only
    or full database must not stop anyone signing in, so a failure is only logged."""
    try:
        with sessions() as session, session.begin():
            service.record_use(session, token_id)
    except SQLAlchemyError as error:
        cause = str(getattr(error, "orig", None) or type(error).__name__).splitlines()[0]
        log.warning("could not record the last use of API token %s: %s", token_id, cause)


def _authenticate(session: Session, token: str | None) -> Credentials:
    if session.in_transaction():
        return service.check_token(session, token)
    with session.begin():
        return service.check_token(session, token)


def current_user(request: Request, session: SessionDep, credentials: BearerCredentials,
                 background: BackgroundTasks) -> Principal:
    """The caller, from their bearer token; 401 with a challenge if there is none valid.

    Reads only (in a short transaction of its own unless the route already opened
    one); the token's last use is written after the response, at most once a
    minute, and never fails the request. Repeated failures from one address or
    with one token are slowed, then refused (429 with ``Retry-After``).
    """
    state = access_state(request.app)
    token = credentials.credentials if credentials else None
    token_key = hash_token(token)[:32] if token else None
    address = request.client.host if request.client else "unknown"
    wait = state.auth.retry_after(address, token_key)
    if wait is not None:
        raise too_many("too many failed authentications", wait)
    try:
        found = _authenticate(session, token)
    except TokenRejected as rejection:
        _note_failure(state, rejection, address, token_key)
        raise _refused() from None
    principal = found.principal
    if principal.token_scope is TokenScope.READ and request.method not in _READING_METHODS:
        raise Forbidden("this API token's scope is read: it may only read (GET)")
    now = utcnow()
    if service.use_is_stale(found, now) and _due(state, found.token_id):
        background.add_task(_record_use, request.app.state.sessions, found.token_id)
    return principal


def _due(state: AccessState, token_id: int) -> bool:
    """Has this process not tried to record the token's use within the last minute?"""
    now = time.monotonic()
    if now - state.touched.get(token_id, -1e9) < service.LAST_USED_RESOLUTION.total_seconds():
        return False
    if len(state.touched) > 100_000:
        state.touched.clear()
    state.touched[token_id] = now
    return True


def _note_failure(state: AccessState, rejection: TokenRejected, address: str,
                  token_key: str | None) -> None:
    """Count and log one failed authentication: the reason, never the token."""
    if rejection.reason == "missing":  # no credential tried: counted, not limited
        state.auth.counts["missing"] += 1
        log.info("authentication failed from %s: no bearer token", address)
        return
    failures = state.auth.failed(address, token_key, rejection.reason)
    log.warning("authentication failed from %s (%s; %d from this address in 10 min): %s",
                address, rejection.reason, failures, rejection.diagnostics)


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
