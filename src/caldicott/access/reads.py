"""Reads of personal data are audited: who read what, when, and why.

Every register search, and every read of a request, a release or the ledger by a
signed-in person, is one ledger entry (action ``R``): the reader by reference
(``user/<id>``) with their organisation and role, the thing read by reference
(``register-search``, ``trace-request/42``), the patients concerned only as
pseudonyms, and, for a break-glass read, the reason as a short code in the
entry's purpose. A read that cannot be recorded does not happen: the entry is
appended in the reader's transaction, before anything is returned.

Example, in a route that shows a trace request::

    with session.begin():
        row = views.visible(session, principal, request_id)
        audit_read(session, settings, principal, f"trace-request/{row.id}",
                   subjects=[row.matched_nhs_number] if row.matched_nhs_number else ())
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from caldicott.access.core.principal import Principal
from caldicott.db import utcnow
from caldicott.errors import InvalidInput
from caldicott.ledger.core.events import (
    Agent,
    AuditEvent,
    IdentifierInTheClear,
    JSONScalar,
    Outcome,
    Pseudonym,
    pseudonymise,
    refuse_identifiers,
)
from caldicott.ledger.service import append_many
from caldicott.settings import Settings

#: A reason is a short code, optionally with a reference: ``safeguarding``,
#: ``data-quality``, ``incident/INC-2026-0042``, ``trace-request/42``. Never free
#: text: a reason lands in the ledger, and free text is where names creep in.
_REASON = re.compile(r"^[a-z][a-z0-9-]{1,39}(/[A-Za-z0-9._-]{1,40})?$")
_REQUEST_REASON = re.compile(r"^trace-request/([1-9][0-9]{0,9})$")


def pseudonym_key(settings: Settings) -> str | bytes:
    """The key patients' pseudonyms in read entries are made with: the ledger's own,
    generated at first use and kept beside the signing key, never the settings secret."""
    from caldicott.ledger.keys import pseudonym_key as ledger_pseudonym_key

    return ledger_pseudonym_key(settings.data_dir)


def patient_pseudonym(settings: Settings, nhs_number: str) -> Pseudonym:
    """A patient as a read entry names them: a keyed hash of the NHS number (the leaf
    itself carries only a per-entry commitment to it)."""
    return pseudonymise(pseudonym_key(settings), "nhs_number", nhs_number)


def reader(principal: Principal, role: str | None = None) -> Agent:
    """The ledger's view of ``principal`` reading: ``user/<id>``, organisation, role(s)."""
    return Agent(f"user/{principal.user_id}", principal.organisation_code,
                 role or "/".join(sorted(principal.roles)) or "none")


def parse_reason(text: str | None) -> str | None:
    """A reason as given (header or parameter), checked: a short code or None.

    Example:
        >>> parse_reason(" safeguarding ")
        'safeguarding'
        >>> parse_reason("Trace-Request/42")
        'trace-request/42'
    """
    if text is None or not text.strip():
        return None
    reason = text.strip()
    code, _, reference = reason.partition("/")
    reason = code.lower() + (f"/{reference}" if reference else "")
    if code.lower() == "trace-request" and not _REQUEST_REASON.match(reason):
        raise InvalidInput("a search for a trace request names it by its id: trace-request/42")
    if not _REASON.match(reason):
        raise InvalidInput(
            "a reason is a short code such as 'safeguarding' or 'incident/INC-42' (lower-case "
            "letters, digits and '-', optionally '/' and a reference), never free text")
    try:
        refuse_identifiers("reason", reason)
    except IdentifierInTheClear:
        raise InvalidInput("a reason must not hold an NHS number or a postcode") from None
    return reason


def request_of(reason: str | None) -> int | None:
    """The trace request a reason names (``trace-request/42``), or None.

    Example:
        >>> request_of("trace-request/42"), request_of("safeguarding")
        (42, None)
    """
    found = _REQUEST_REASON.match(reason or "")
    return int(found.group(1)) if found else None


def read_event(settings: Settings, principal: Principal, what: str, *,
               why: str | None = None, subjects: Sequence[str] = (), kind: str = "read",
               outcome: Outcome = "success", role: str | None = None,
               details: Mapping[str, JSONScalar] | None = None) -> AuditEvent:
    """The ledger event of one read (see :func:`audit_read`)."""
    pseudonyms = tuple(dict.fromkeys(patient_pseudonym(settings, n) for n in subjects))
    return AuditEvent(type=kind, action="R", outcome=outcome, recorded=utcnow(),
                      agent=reader(principal, role), what=what, purpose=why,
                      subjects=pseudonyms, details=dict(details or {}))


def audit_read(session: Session, settings: Settings, principal: Principal, what: str, *,
               why: str | None = None, subjects: Sequence[str] = (), kind: str = "read",
               role: str | None = None,
               details: Mapping[str, JSONScalar] | None = None) -> None:
    """Record that ``principal`` read ``what`` (one ledger entry, in the caller's
    transaction): call it in the transaction that reads, before returning the data.

    Args:
        what: the thing read, by reference: ``trace-request/42``, ``register-search``,
            ``ledger/entries``.
        why: the reason for a break-glass read, a short code (see :func:`parse_reason`).
        subjects: the NHS numbers of the patients whose data was read; the entry holds
            only their pseudonyms.
        kind: the entry's type (``read``, ``register-search``, ...).
        role: the role the reader acted in (default: all they hold).
        details: codes and counts kept beside the entry (never personal data).

    Example:
        >>> audit_read(session, settings, principal, "trace-request/42",
        ...            subjects=["9434765919"])  # doctest: +SKIP
    """
    append_many(session, settings, [read_event(
        settings, principal, what, why=why, subjects=subjects, kind=kind, role=role,
        details=details)])
