"""Use cases on organisations. Services never commit: the edge owns the transaction."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.orm import Session

from caldicott.errors import Conflict, InvalidInput, NotFound
from caldicott.orgs import repository
from caldicott.orgs.models import ORGANISATION_KINDS, OrganisationRow
from caldicott.postcodes import IN_TEXT as _POSTCODE_SHAPED

# ODS-style codes: "X26" (NHS Digital), "RJ1", "HO-IE". Upper case, 2 to 16 characters.
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,15}$")
# Codes go into ledger events in the clear, and the ledger refuses anything shaped like
# a postcode or an NHS number there: such a code would make every later event fail.
_NHS_NUMBER_SHAPED = re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")


def normalise_code(code: str) -> str:
    """Organisation codes compare case-insensitively and are stored upper case.

    Example:
        >>> normalise_code(" x26 ")
        'X26'
    """
    return code.strip().upper()


def add_organisation(session: Session, code: str, name: str, kind: str) -> OrganisationRow:
    """Register an organisation.

    Example:
        >>> add_organisation(session, "X26", "NHS Digital", "nhs_digital")  # doctest: +SKIP
    """
    code = normalise_code(code)
    if _POSTCODE_SHAPED.search(code) or _NHS_NUMBER_SHAPED.search(code):
        raise InvalidInput(f"organisation code {code!r} looks like a postcode or an NHS "
                           "number; choose another (an ODS code such as X26)")
    if not _CODE.match(code):
        raise InvalidInput(f"organisation code {code!r} must be 2-16 letters, digits or '-'")
    if not name.strip() or len(name.strip()) > 200:
        raise InvalidInput("organisation name must be 1 to 200 characters")
    if kind not in ORGANISATION_KINDS:
        raise InvalidInput(
            f"unknown organisation kind {kind!r}; choose from {', '.join(ORGANISATION_KINDS)}"
        )
    if repository.get_by_code(session, code) is not None:
        raise Conflict(f"organisation {code} already exists")
    return repository.add(session, code, name.strip(), kind)


def get_organisation(session: Session, code: str) -> OrganisationRow:
    """The organisation with ``code``, or :class:`NotFound` naming it."""
    row = repository.get_by_code(session, normalise_code(code))
    if row is None:
        raise NotFound(f"unknown organisation {normalise_code(code)!r}; "
                       "see `caldicott org list`")
    return row


def list_organisations(session: Session) -> Sequence[OrganisationRow]:
    return repository.list_all(session)
