"""Sign-in for people (pure): password hashes, TOTP codes, page session ids, CSRF tokens.

- A password is kept only as an argon2id hash (``argon2-cffi``'s defaults, RFC 9106's
  second recommended profile); a password is a low-entropy secret, so its hash must be
  slow, unlike an API token's (see :mod:`caldicott.access.core.tokens`).
- The second factor is a TOTP code (RFC 6238, 30-second steps, 6 digits, via ``pyotp``);
  a code is accepted one step either side of now, and never twice (the last step used
  is stored).
- A page session id is 256 random bits in a cookie; only its SHA-256 is stored. It is
  not an API token (no ``cald_`` prefix, no checksum), so neither works as the other.
- A CSRF token is an HMAC of the session's id (or of the anonymous form cookie, before
  sign-in) under the service's secret key: tied to the session, nothing stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from caldicott.access.core.roles import Role

#: Roles whose holders must give a second factor (they see or change the most).
SECOND_FACTOR_ROLES = frozenset({Role.REVIEWER, Role.AUDITOR, Role.ADMINISTRATOR})
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; bound the work a caller can ask for
TOTP_ISSUER = "caldicott"

_HASHER = PasswordHasher()  # argon2id
# Verified when there is no hash to check against, so an unknown account takes as long.
_DUMMY_HASH = _HASHER.hash("not-a-password-of-anyone")


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be set, or None.

    Example:
        >>> password_problem("short")
        'a password needs at least 12 characters'
        >>> password_problem("correct horse battery") is None
        True
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"a password has at most {MAX_PASSWORD_LENGTH} characters"
    if not password.strip():
        return "a password cannot be only spaces"
    return None


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted: two hashes of one password differ).

    Example:
        >>> hash_password("correct horse battery").startswith("$argon2id$")
        True
    """
    return _HASHER.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Does ``password`` match ``stored_hash``? Takes as long when there is no hash.

    Example:
        >>> password_matches(hash_password("correct horse battery"), "correct horse battery")
        True
        >>> password_matches(None, "anything at all")
        False
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_second_factor(roles: frozenset[Role], enrolled: bool) -> bool:
    """A reviewer, auditor or administrator always gives a TOTP code; others if enrolled.

    Example:
        >>> needs_second_factor(frozenset({Role.REQUESTING_OFFICER}), enrolled=False)
        False
        >>> needs_second_factor(frozenset({Role.AUDITOR}), enrolled=False)
        True
    """
    return enrolled or not roles.isdisjoint(SECOND_FACTOR_ROLES)


def new_totp_secret() -> str:
    """A random base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` URI an authenticator app enrols from (a QR code of it)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def totp_now(secret: str) -> str:
    """The code for now (for the demo and the tests, which play the authenticator app)."""
    return pyotp.TOTP(secret).now()


def accepted_totp_step(secret: str, code: str, last_step: int | None,
                       at: float | None = None) -> int | None:
    """The time step ``code`` is valid for (now, or one step either side), if it was not
    used already (a step after ``last_step``); None if the code is refused.

    Example:
        >>> secret = new_totp_secret()
        >>> step = accepted_totp_step(secret, totp_now(secret), None)
        >>> step is not None, accepted_totp_step(secret, totp_now(secret), step)
        (True, None)
    """
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(_when(at))
    for step in (now, now - 1, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step if last_step is None or step > last_step else None
    return None


def _when(at: float | None) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.UTC) if at is not None else dt.datetime.now(dt.UTC)


def new_session_id() -> str:
    """A page session id: 256 random bits, URL-safe (the cookie's value)."""
    return secrets.token_urlsafe(32)


def hash_session_id(session_id: str) -> str:
    """The SHA-256 a session id is stored and looked up by."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def csrf_token(secret_key: str, binding: str) -> str:
    """The CSRF token of a session (or an anonymous form cookie) ``binding``.

    Example:
        >>> csrf_token("k", "a") == csrf_token("k", "a") != csrf_token("k", "b")
        True
    """
    return hmac.new(secret_key.encode(), f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_matches(secret_key: str, binding: str | None, presented: str | None) -> bool:
    """Is ``presented`` the CSRF token of ``binding``? (constant time)"""
    if not binding or not presented:
        return False
    return hmac.compare_digest(csrf_token(secret_key, binding), presented)
