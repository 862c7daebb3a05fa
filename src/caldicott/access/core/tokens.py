"""The API token format (pure).

A token is ``cald_`` + 40 random base62 characters + a 6-character base62
CRC32 of them, e.g. ``cald_3kF...Zq0Ab1x9``:

- the fixed prefix makes a leaked token recognisable (secret scanners, log
  reviews), as GitHub's ``ghp_`` and Stripe's ``sk_live_`` do;
- 40 base62 characters carry about 238 bits from :mod:`secrets`;
- the checksum lets the service (and a scanner) reject a mistyped or made-up
  token without touching the database.

Only ``SHA-256(token)`` is stored. A slow password hash (argon2, bcrypt) exists
to make guessing a low-entropy password expensive; a 238-bit random token
cannot be guessed, so a slow hash adds no protection, while it would cost tens
of milliseconds and megabytes of memory on every API call (a denial-of-service
lever) and, being salted, would prevent looking a token up by its hash. An
unsalted fast hash is indexable and constant-cost; a stolen database still
yields no usable token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import zlib

TOKEN_PREFIX = "cald_"
_ALPHABET = string.digits + string.ascii_letters  # base62: selects with one double-click
_BODY_LENGTH = 40
_CHECKSUM_LENGTH = 6
_TOKEN_PATTERN = re.compile(
    rf"^{TOKEN_PREFIX}[0-9A-Za-z]{{{_BODY_LENGTH}}}[0-9A-Za-z]{{{_CHECKSUM_LENGTH}}}$"
)
#: How many characters of a token are kept in the clear so people can tell tokens apart.
DISPLAY_LENGTH = len(TOKEN_PREFIX) + 6
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(_ALPHABET[remainder])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), _CHECKSUM_LENGTH)


def generate_token() -> str:
    """A new random API token.

    Example:
        >>> token = generate_token()
        >>> token.startswith("cald_") and is_well_formed(token)
        True
    """
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY_LENGTH))
    return f"{TOKEN_PREFIX}{body}{_checksum(body)}"


def is_well_formed(token: str) -> bool:
    """True if ``token`` has the prefix, the length and a correct checksum.

    Example:
        >>> is_well_formed("cald_" + "a" * 46)
        False
    """
    if not _TOKEN_PATTERN.match(token):
        return False
    body = token[len(TOKEN_PREFIX):len(TOKEN_PREFIX) + _BODY_LENGTH]
    return secrets.compare_digest(token[-_CHECKSUM_LENGTH:], _checksum(body))


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256, hex.

    Example:
        >>> len(hash_token(generate_token()))
        64
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def display_prefix(token: str) -> str:
    """The part of a token kept in the clear, e.g. ``cald_3kFq9Z``, for listings."""
    return token[:DISPLAY_LENGTH]
