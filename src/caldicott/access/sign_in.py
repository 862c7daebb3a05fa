"""Use cases of sign-in for people: passwords, TOTP, page sessions. Services never commit.

A person signs in with e-mail and password; a reviewer, auditor or administrator (and
anyone who enrolled a TOTP) then gives a code. Each step starts a new session id (a
cookie value the browser chose is never trusted), and a session that sees no request
for ``CALDICOTT_SESSION_IDLE_MINUTES`` ends. The account changes (a password set, a
TOTP enrolled, sign-in reset) are ledger entries, like every account change.

Failed attempts are slowed and refused by the page edge with the same in-memory
limiter as API tokens (:mod:`caldicott.access.guard`); this module only says whether
an attempt succeeded and why not, for the log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from caldicott.access import repository
from caldicott.access.audit import CLI_OPERATOR, record_account_change
from caldicott.access.core import sign_in as core
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Role
from caldicott.access.models import UserRow, WebSessionRow
from caldicott.access.service import get_user, normalise_email, principal_of
from caldicott.db import utcnow
from caldicott.errors import InvalidInput, NotAuthenticated
from caldicott.ledger.core.events import Agent
from caldicott.settings import Settings

#: What a person is told whenever the e-mail or the password is wrong (whichever it is).
WRONG_PASSWORD = "The email address or password is not right"
WRONG_CODE = "The security code is not right, or it has been used already"


class SignInRefused(NotAuthenticated):
    """A sign-in step refused. ``diagnostics`` is what the person is told; ``reason``
    (``unknown``, ``no_password``, ``password``, ``disabled``, ``code``, ``no_totp``,
    ``expired``) is for the server's log."""

    def __init__(self, diagnostics: str, reason: str) -> None:
        super().__init__(diagnostics)
        self.reason = reason


@dataclass(frozen=True)
class SignInStarted:
    """A password accepted: the new session's id (for the cookie) and whether a TOTP code
    is still owed before it is a signed-in session."""

    session_id: str
    needs_code: bool


# --- account changes (the CLI's `caldicott user ...`) -------------------------------------


def set_password(session: Session, settings: Settings, email: str, password: str) -> UserRow:
    """Set (or replace) a user's password; their page sessions end.

    Example:
        >>> set_password(session, settings, "o@ho.example", "a long passphrase")  # doctest: +SKIP
    """
    problem = core.password_problem(password)
    if problem:
        raise InvalidInput(problem)
    user = get_user(session, email)
    user.password_hash = core.hash_password(password)
    repository.delete_web_sessions_of(session, user.id)
    session.flush()
    record_account_change(session, settings, "user-password-set", user.id)
    return user


def enrol_totp(session: Session, settings: Settings, email: str) -> tuple[UserRow, str]:
    """Give a user a new TOTP secret (replacing any before); returns it, to show once.

    Example:
        >>> user, secret = enrol_totp(session, settings, "g@nhsd.example")  # doctest: +SKIP
    """
    user = get_user(session, email)
    secret = core.new_totp_secret()
    user.totp_secret, user.totp_last_step = secret, None
    repository.delete_web_sessions_of(session, user.id)
    session.flush()
    record_account_change(session, settings, "user-totp-enrolled", user.id)
    return user, secret


def reset_sign_in(session: Session, settings: Settings, email: str, *,
                  agent: Agent = CLI_OPERATOR) -> tuple[UserRow, int]:
    """Clear a user's password and TOTP and end their page sessions (how many ended)."""
    user = get_user(session, email)
    user.password_hash = user.totp_secret = user.totp_last_step = None
    ended = repository.delete_web_sessions_of(session, user.id)
    session.flush()
    record_account_change(session, settings, "user-sign-in-reset", user.id, {"sessions": ended},
                          agent=agent)
    return user, ended


# --- signing in and out ----------------------------------------------------------------


def sign_in_with_password(session: Session, email: str, password: str,
                          now: dt.datetime | None = None) -> SignInStarted:
    """Check e-mail and password; start a session (still owing a code if one is needed).

    Every refusal reads the same to the person (:data:`WRONG_PASSWORD`), and takes as long
    whether or not the account exists or has a password.
    """
    user = repository.get_user_by_email(session, normalise_email(email)[:254])
    stored = user.password_hash if user is not None else None
    if not core.password_matches(stored, password) or user is None:
        reason = "unknown" if user is None else ("no_password" if stored is None else "password")
        raise SignInRefused(WRONG_PASSWORD, reason)
    if user.disabled_at is not None:
        raise SignInRefused(WRONG_PASSWORD, "disabled")
    roles = frozenset(Role(r.role) for r in user.roles)
    owes_code = core.needs_second_factor(roles, user.totp_secret is not None)
    if owes_code and user.totp_secret is None:
        raise SignInRefused("Your account needs a security code app before you can sign "
                            "in: ask an administrator to enrol one (caldicott user totp)",
                            "no_totp")
    return SignInStarted(_start(session, user.id, not owes_code, now), owes_code)


def give_code(session: Session, settings: Settings, session_id: str, code: str,
              now: dt.datetime | None = None) -> str:
    """Accept a TOTP code for a session that owes one; the new (signed-in) session's id."""
    now = now or utcnow()
    pending = _live(session, settings, session_id, now)
    if pending is None or pending.verified:
        raise SignInRefused("Your sign-in has expired: sign in again", "expired")
    user = repository.get_user(session, pending.user_id)
    assert user is not None  # the session row cascades with its user
    step = core.accepted_totp_step(user.totp_secret or "", code, user.totp_last_step,
                                   now.timestamp())
    if step is None or user.totp_secret is None:
        raise SignInRefused(WRONG_CODE, "code")
    user.totp_last_step = step
    repository.delete_web_session(session, pending.session_hash)
    return _start(session, user.id, True, now)


def pending_user_id(session: Session, settings: Settings, session_id: str | None) -> int | None:
    """The user of ``session_id`` if it is a live session that has given its password but
    not yet its code; else None."""
    pending = _live(session, settings, session_id, utcnow()) if session_id else None
    return pending.user_id if pending is not None and not pending.verified else None


def signed_in(session: Session, settings: Settings, session_id: str | None,
              now: dt.datetime | None = None) -> Principal | None:
    """The person a session cookie speaks for, or None (no session, idle too long, a code
    still owed, the account disabled). Notes the request, so the idle clock restarts."""
    if not session_id:
        return None
    now = now or utcnow()
    row = _live(session, settings, session_id, now)
    if row is None or not row.verified:
        return None
    user = repository.get_user(session, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    row.last_seen_at = now
    session.flush()
    return principal_of(user)


def sign_out(session: Session, session_id: str | None) -> None:
    """End the session (nothing to do if there is none)."""
    if session_id:
        repository.delete_web_session(session, core.hash_session_id(session_id))


def _start(session: Session, user_id: int, verified: bool, now: dt.datetime | None) -> str:
    session_id = core.new_session_id()
    repository.add_web_session(session, user_id, core.hash_session_id(session_id), verified,
                               now or utcnow())
    return session_id


def _live(session: Session, settings: Settings, session_id: str | None,
          now: dt.datetime) -> WebSessionRow | None:
    """The session row, unless it has been idle too long (then it is deleted)."""
    if not session_id or len(session_id) > 100:
        return None
    row = repository.get_web_session(session, core.hash_session_id(session_id))
    if row is None:
        return None
    if row.last_seen_at < now - idle_limit(settings):
        repository.delete_idle_web_sessions(session, now - idle_limit(settings))
        return None
    return row


def idle_limit(settings: Settings) -> dt.timedelta:
    return dt.timedelta(minutes=settings.session_idle_minutes)
