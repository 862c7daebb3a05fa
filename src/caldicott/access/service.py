"""Use cases of people and access. Services never commit: the edge owns the transaction."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from caldicott.access import repository
from caldicott.access.audit import CLI_OPERATOR, record_account_change
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import (
    Role,
    TokenScope,
    organisation_kind_problems,
    parse_role,
    parse_token_scope,
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
from caldicott.access.repository import Credentials
from caldicott.db import utcnow
from caldicott.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from caldicott.ledger.core.events import Agent
from caldicott.orgs.models import OrganisationRow
from caldicott.orgs.service import get_organisation
from caldicott.settings import Settings

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: ``last_used_at`` is written at most once per this interval, so reads stay reads.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenRejected(NotAuthenticated):
    """A bearer token that is missing, malformed, unknown, expired or revoked, or whose
    user is disabled.

    ``reason`` (``missing``, ``malformed``, ``unknown``, ``expired``, ``revoked``,
    ``disabled``) and ``diagnostics`` are for the server's log: the caller is told
    the same thing whatever the reason, so a token's state is not theirs to probe.
    """

    def __init__(self, diagnostics: str, reason: str = "unknown",
                 token_id: int | None = None) -> None:
        super().__init__(diagnostics)
        self.reason = reason
        self.token_id = token_id


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the only moment its secret exists outside the caller."""

    id: int
    token: str
    user_email: str
    expires_at: dt.datetime
    scope: TokenScope = TokenScope.FULL


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


def user_by_id(session: Session, user_id: int) -> UserRow:
    """The user with id ``user_id`` (as the pages name them), or :class:`NotFound`."""
    user = repository.get_user(session, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
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
                 now: dt.datetime | None = None, scope: str = "full") -> IssuedToken:
    """Issue an API token for a user; the returned secret is never stored.

    ``scope`` limits what the token may be used for (``read``, ``submit``,
    ``review`` or ``full``: whatever the user's roles allow).

    Example:
        >>> issued = create_token(session, "g@nhsd.example", days=30)  # doctest: +SKIP
        >>> issued.token[:5]  # doctest: +SKIP
        'cald_'
    """
    days = DEFAULT_TOKEN_DAYS if days is None else days
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"--days must be between 1 and {MAX_TOKEN_DAYS}, not {days}")
    try:
        token_scope = parse_token_scope(scope)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    user = get_user(session, email)
    if user.disabled_at is not None:
        raise Conflict(f"user {user.email} is disabled; enable them first "
                       "(`caldicott user enable`)")
    token = generate_token()
    expires_at = (now or utcnow()) + dt.timedelta(days=days)
    row = repository.add_token(session, user.id, hash_token(token), display_prefix(token),
                               label.strip()[:100], expires_at, token_scope)
    return IssuedToken(id=row.id, token=token, user_email=user.email, expires_at=expires_at,
                       scope=token_scope)


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


#: What every caller whose token is refused is told, whatever the reason.
REFUSED_TOKEN = ("authentication required: send a valid API token as "
                 "'Authorization: Bearer <token>'")


def check_token(session: Session, token: str | None,
                now: dt.datetime | None = None) -> Credentials:
    """The credentials a bearer token carries, or :class:`TokenRejected` saying why.

    Reads only: authentication never needs to write, so a read-only or full
    database does not lock everyone out (the last use is recorded separately,
    best-effort, by :func:`record_use`).
    """
    now = now or utcnow()
    if not token:
        raise TokenRejected("no bearer token", reason="missing")
    if not is_well_formed(token):
        raise TokenRejected("the bearer token is not a caldicott token (malformed or "
                            "mistyped: its checksum does not match)", reason="malformed")
    found = repository.find_credentials(session, hash_token(token))
    if found is None:
        raise TokenRejected("no such API token", reason="unknown")
    if found.revoked_at is not None:
        raise TokenRejected(f"API token {found.token_id} has been revoked", reason="revoked",
                            token_id=found.token_id)
    if found.expires_at <= now:
        raise TokenRejected(f"API token {found.token_id} expired on "
                            f"{found.expires_at:%Y-%m-%d %H:%M} UTC", reason="expired",
                            token_id=found.token_id)
    if found.disabled_at is not None:
        raise TokenRejected(f"API token {found.token_id}: user {found.principal.user_id} is "
                            "disabled", reason="disabled", token_id=found.token_id)
    return found


def authenticate(session: Session, token: str | None,
                 now: dt.datetime | None = None) -> Principal:
    """The principal a bearer token speaks for, or :class:`TokenRejected` saying why.

    Example:
        >>> authenticate(session, issued.token).email  # doctest: +SKIP
        'g@nhsd.example'
    """
    return check_token(session, token, now).principal


def use_is_stale(credentials: Credentials, now: dt.datetime) -> bool:
    """Is the token's recorded last use older than :data:`LAST_USED_RESOLUTION`?"""
    last = credentials.last_used_at
    return last is None or last < now - LAST_USED_RESOLUTION


def record_use(session: Session, token_id: int, now: dt.datetime | None = None) -> None:
    """Record that token ``token_id`` was used, at most once a minute."""
    now = now or utcnow()
    repository.touch_token(session, token_id, now, now - LAST_USED_RESOLUTION)


# --- account changes: each is one ledger entry ------------------------------------------


def issue_token(session: Session, settings: Settings, email: str, days: int | None = None,
                label: str = "", scope: str = "full", *,
                agent: Agent = CLI_OPERATOR) -> IssuedToken:
    """:func:`create_token`, recorded in the ledger (``token-created``)."""
    issued = create_token(session, email, days=days, label=label, scope=scope)
    user = get_user(session, email)
    record_account_change(session, settings, "token-created", user.id, {
        "token": issued.id, "scope": issued.scope.value,
        "expires": issued.expires_at.date().isoformat()}, action="C", agent=agent)
    return issued


def revoke_token_recorded(session: Session, settings: Settings, reference: str, *,
                          agent: Agent = CLI_OPERATOR) -> tuple[ApiTokenRow, bool]:
    """:func:`revoke_token`, recorded in the ledger (``token-revoked``) when it changed."""
    row, already = revoke_token(session, reference)
    if not already:
        record_account_change(session, settings, "token-revoked", row.user_id,
                              {"token": row.id}, agent=agent)
    return row, already


def revoke_all_tokens(session: Session, settings: Settings, email: str,
                      now: dt.datetime | None = None) -> tuple[UserRow, int]:
    """Revoke every token of a user at once (a lost laptop, a leaver). Returns how many.

    Example:
        >>> revoke_all_tokens(session, settings, "o@ho.example")[1]  # doctest: +SKIP
        3
    """
    user = get_user(session, email)
    count = repository.revoke_tokens_of(session, user.id, now or utcnow())
    if count:
        record_account_change(session, settings, "user-tokens-revoked", user.id,
                              {"tokens": count})
    return user, count


def set_disabled(session: Session, settings: Settings, email: str, disabled: bool,
                 now: dt.datetime | None = None, *,
                 agent: Agent = CLI_OPERATOR) -> tuple[UserRow, bool]:
    """Disable (or enable again) a user. A disabled user's tokens stop working at once;
    enabling restores those not revoked or expired. Returns the user and whether it changed.
    """
    user = get_user(session, email)
    if (user.disabled_at is not None) == disabled:
        return user, False
    user.disabled_at = (now or utcnow()) if disabled else None
    session.flush()
    record_account_change(session, settings, "user-disabled" if disabled else "user-enabled",
                          user.id, agent=agent)
    return user, True


def remove_role(session: Session, settings: Settings, email: str, role: str, *,
                agent: Agent = CLI_OPERATOR) -> UserRow:
    """Take one role away from a user; their tokens lose it at once.

    Refuses to take the last one: an account with no role is disabled instead.
    """
    try:
        parsed = parse_role(role)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    user = get_user(session, email)
    held = {r.role for r in user.roles}
    if parsed.value not in held:
        raise InvalidInput(f"user {user.email} does not hold the role {parsed.value} "
                           f"(holds {', '.join(sorted(held))})")
    if held == {parsed.value}:
        raise InvalidInput(f"{parsed.value} is {user.email}'s only role; disable the account "
                           "instead (`caldicott user disable`)")
    repository.remove_role(session, user.id, parsed.value)
    session.expire(user)
    record_account_change(session, settings, "user-role-removed", user.id,
                          {"role": parsed.value}, agent=agent)
    refreshed = repository.get_user(session, user.id)
    assert refreshed is not None
    return refreshed


def add_role(session: Session, settings: Settings, email: str, role: str, *,
             agent: Agent = CLI_OPERATOR) -> UserRow:
    """Give a user one more role, on the same rules as :func:`add_user` (no pair that
    undoes a separation of duties, none that does not fit the organisation's kind);
    their tokens have it on their next call. Recorded in the ledger.

    Example:
        >>> add_role(session, settings, "t@nhsd.example", "reviewer").roles  # doctest: +SKIP
    """
    try:
        parsed = parse_role(role)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    user = get_user(session, email)
    held = {Role(r.role) for r in user.roles}
    if parsed in held:
        raise InvalidInput(f"user {user.email} already holds the role {parsed.value}")
    problems = (role_conflicts([*held, parsed])
                + organisation_kind_problems([parsed], user.organisation.kind))
    if problems:
        raise InvalidInput("; ".join(problems))
    repository.add_role(session, user.id, parsed.value)
    session.expire(user)
    record_account_change(session, settings, "user-role-added", user.id,
                          {"role": parsed.value}, agent=agent)
    refreshed = repository.get_user(session, user.id)
    assert refreshed is not None
    return refreshed


def register_user(session: Session, settings: Settings, email: str, organisation_code: str,
                  roles: Sequence[str], name: str | None = None, *,
                  agent: Agent = CLI_OPERATOR) -> UserRow:
    """:func:`add_user`, recorded in the ledger (``user-added``, with its roles).

    Example:
        >>> register_user(session, settings, "g@nhsd.example", "X26", ["reviewer"])
        ... # doctest: +SKIP
    """
    user = add_user(session, email, organisation_code, roles, name=name)
    record_account_change(session, settings, "user-added", user.id, {
        "organisation": user.organisation.code,
        "roles": ",".join(r.role for r in user.roles)}, action="C", agent=agent)
    return user
