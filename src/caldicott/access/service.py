"""Use cases of people and access. Services never commit: the edge owns the transaction."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from caldicott.access import repository
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import (
    Role,
    organisation_kind_problems,
    parse_role,
    role_conflicts,
)
from caldicott.access.core.tokens import (
    DEFAULT_TOKEN_DAYS,
    MAX_TOKEN_DAYS,
    display_prefix,
    generate_token,
    hash_token,
    is_well_formed,
)
from caldicott.access.models import ApiTokenRow, UserRow
from caldicott.db import utcnow
from caldicott.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from caldicott.orgs.models import OrganisationRow
from caldicott.orgs.service import get_organisation

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: ``last_used_at`` is written at most once per this interval, so reads stay reads.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenRejected(NotAuthenticated):
    """A bearer token that is missing, malformed, unknown, expired or revoked."""

    def __init__(self, diagnostics: str, reason: str = "invalid_token") -> None:
        super().__init__(diagnostics)
        self.reason = reason


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the only moment its secret exists outside the caller."""

    id: int
    token: str
    user_email: str
    expires_at: dt.datetime


def normalise_email(email: str) -> str:
    """E-mail addresses are compared and stored lower-case.

    Example:
        >>> normalise_email(" A.Tracer@NHSD.example ")
        'a.tracer@nhsd.example'
    """
    return email.strip().lower()


def _parse_roles(roles: Sequence[str]) -> list[Role]:
    """Roles as given (``["tracer", "reviewer"]`` or ``["tracer,reviewer"]``), checked."""
    if not any(text.strip(" ,") for text in roles):
        raise InvalidInput("a user needs at least one --role")
    parsed = []
    for value in (part for text in roles for part in text.split(",") if part.strip()):
        try:
            parsed.append(parse_role(value))
        except ValueError as error:
            raise InvalidInput(str(error)) from None
    return sorted(set(parsed))


def add_user(session: Session, email: str, organisation_code: str, roles: Sequence[str],
             name: str | None = None) -> UserRow:
    """Create a user account in an organisation with one or more roles.

    Refuses role pairs that would undo a separation of duties and roles that
    do not fit the organisation's kind (a Home Office account is never a reviewer).

    Example:
        >>> add_user(session, "g@nhsd.example", "X26", ["reviewer"])  # doctest: +SKIP
    """
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidInput(f"{email!r} is not an e-mail address")
    parsed = _parse_roles(roles)
    organisation = get_organisation(session, organisation_code)
    problems = role_conflicts(parsed) + organisation_kind_problems(parsed, organisation.kind)
    if problems:
        raise InvalidInput("; ".join(problems))
    if repository.get_user_by_email(session, email) is not None:
        raise Conflict(f"user {email} already exists")
    display_name = (name or "").strip() or email.split("@")[0]
    if len(display_name) > 200:
        raise InvalidInput("a user's name is at most 200 characters")
    user = repository.add_user(session, email, display_name, organisation.id,
                               [r.value for r in parsed])
    return repository.get_user(session, user.id) or user


def get_user(session: Session, email: str) -> UserRow:
    """The user with ``email``, or :class:`NotFound` naming it."""
    user = repository.get_user_by_email(session, normalise_email(email))
    if user is None:
        raise NotFound(f"unknown user {normalise_email(email)!r}; see `caldicott user list`")
    return user


def list_users(session: Session) -> Sequence[UserRow]:
    return repository.list_users(session)


def principal_of(user: UserRow, token_id: int | None = None) -> Principal:
    """The detached :class:`Principal` of a user row loaded with its roles and organisation."""
    return _principal(user, user.organisation, [r.role for r in user.roles], token_id)


def _principal(user: UserRow, organisation: OrganisationRow, roles: Sequence[str],
               token_id: int | None) -> Principal:
    return Principal(
        user_id=user.id, email=user.email, name=user.name,
        organisation_id=organisation.id, organisation_code=organisation.code,
        organisation_kind=organisation.kind, roles=frozenset(Role(r) for r in roles),
        token_id=token_id, organisation_name=organisation.name,
    )


def create_token(session: Session, email: str, days: int | None = None, label: str = "",
                 now: dt.datetime | None = None) -> IssuedToken:
    """Issue an API token for a user; the returned secret is never stored.

    Example:
        >>> issued = create_token(session, "g@nhsd.example", days=30)  # doctest: +SKIP
        >>> issued.token[:5]  # doctest: +SKIP
        'cald_'
    """
    days = DEFAULT_TOKEN_DAYS if days is None else days
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"--days must be between 1 and {MAX_TOKEN_DAYS}, not {days}")
    user = get_user(session, email)
    token = generate_token()
    expires_at = (now or utcnow()) + dt.timedelta(days=days)
    row = repository.add_token(session, user.id, hash_token(token), display_prefix(token),
                               label.strip()[:100], expires_at)
    return IssuedToken(id=row.id, token=token, user_email=user.email, expires_at=expires_at)


def find_token(session: Session, reference: str) -> ApiTokenRow:
    """A token by its id (``12``) or by the token itself (a leaked one found in a log)."""
    reference = reference.strip()
    row = None
    if reference.isdigit():
        row = repository.get_token(session, int(reference))
    elif reference.startswith("cald_"):
        row = repository.get_token_by_hash(session, hash_token(reference))
    if row is None:
        shown = reference if reference.isdigit() else "that token"
        raise NotFound(f"no API token {shown}; see `caldicott token list`")
    return row


def revoke_token(session: Session, reference: str,
                 now: dt.datetime | None = None) -> tuple[ApiTokenRow, bool]:
    """Revoke a token at once. Returns the row and whether it was already revoked."""
    row = find_token(session, reference)
    if row.revoked_at is not None:
        return row, True
    row.revoked_at = now or utcnow()
    session.flush()
    return row, False


def list_tokens(session: Session, email: str | None = None) -> Sequence[ApiTokenRow]:
    user_id = get_user(session, email).id if email else None
    return repository.list_tokens(session, user_id)


def authenticate(session: Session, token: str | None,
                 now: dt.datetime | None = None) -> Principal:
    """The principal a bearer token speaks for, or :class:`TokenRejected` saying why.

    Records when the token was last used (to the minute).

    Example:
        >>> authenticate(session, issued.token).email  # doctest: +SKIP
        'g@nhsd.example'
    """
    now = now or utcnow()
    if not token:
        raise TokenRejected("authentication required: send 'Authorization: Bearer <token>'",
                            reason="")
    found = repository.find_credentials(session, hash_token(token)) if is_well_formed(
        token) else None
    if found is None:
        raise TokenRejected("the API token is not valid")
    if found.revoked_at is not None:
        raise TokenRejected("the API token has been revoked")
    if found.expires_at <= now:
        raise TokenRejected(f"the API token expired on {found.expires_at:%Y-%m-%d %H:%M} UTC")
    stale = now - LAST_USED_RESOLUTION
    if found.last_used_at is None or found.last_used_at < stale:  # most requests write nothing
        repository.touch_token(session, found.token_id, now, stale)
    return found.principal
