"""Use cases on the register of authorised signatories. Services never commit.

Every addition and every ending is one ledger entry, in the caller's
transaction. An entry names the signatory only as ``signatory/<id>`` with the
organisation and the dates: no name, rank or staff number goes into the log.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from caldicott.db import utcnow
from caldicott.errors import Conflict, InvalidInput, NotFound
from caldicott.ledger.core.events import Action, Agent, AuditEvent, JSONScalar
from caldicott.ledger.service import append_many
from caldicott.orgs.models import OrganisationRow
from caldicott.orgs.service import get_organisation
from caldicott.settings import Settings
from caldicott.signatories import repository
from caldicott.signatories.core.procedure import (
    ProcedureReason,
    SignatoryEntry,
    normalise_number,
    procedure_reasons,
)
from caldicott.signatories.core.ranks import UnknownRank, canonical_rank, ladder
from caldicott.signatories.models import SignatoryRow

#: Who acts when an operator runs ``caldicott signatory`` on the server.
CLI_OPERATOR = Agent("system/cli", "caldicott", "operator")

_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/.-]{0,31}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def add_signatory(
    session: Session, settings: Settings, agent: Agent, *, organisation_code: str,
    full_name: str, rank: str, staff_number: str, valid_from: dt.date,
    valid_to: dt.date | None = None, role_title: str | None = None,
    may_countersign: bool = False,
) -> SignatoryRow:
    """Add an officer to an organisation's register of authorised signatories.

    ``rank`` must be on the ladder of the organisation's kind (a title such as
    "chief immigration officer" is stored as its rung, and kept as the role
    when no ``role_title`` is given).

    Example:
        >>> add_signatory(session, settings, CLI_OPERATOR, organisation_code="WMP",
        ...               full_name="Alex Example", rank="inspector", staff_number="4417",
        ...               valid_from=dt.date(2017, 1, 1), may_countersign=True)  # doctest: +SKIP
    """
    organisation = get_organisation(session, organisation_code)
    rung = _rank_of(organisation, rank)
    number = _checked_number(staff_number)
    name = _checked_text("full name", full_name)
    role = _checked_text("role", (role_title or "").strip() or rank)  # the title as given
    _check_dates(valid_from, valid_to)
    if repository.get_by_number(session, organisation.id, number) is not None:
        raise Conflict(f"{organisation.code} already has a signatory with staff number {number}")
    row = repository.add(session, SignatoryRow(
        organisation_id=organisation.id, full_name=name, role_title=role,
        rank=rung, staff_number=number, valid_from=valid_from, valid_to=valid_to,
        may_countersign=may_countersign, organisation=organisation))
    _record(session, settings, agent, "signatory-added", "C", row, {
        "organisation": organisation.code, "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat() if valid_to else None,
        "may_countersign": may_countersign})
    return row


def end_signatory(session: Session, settings: Settings, agent: Agent, *,
                  organisation_code: str, staff_number: str, on: dt.date) -> SignatoryRow:
    """End an officer's authority: ``on`` is the last day they may sign.

    Example:
        >>> end_signatory(session, settings, CLI_OPERATOR, organisation_code="WMP",
        ...               staff_number="4417", on=dt.date(2018, 5, 8))  # doctest: +SKIP
    """
    row = get_signatory(session, organisation_code, staff_number, for_update=True)
    if on < row.valid_from:
        raise InvalidInput(f"cannot end signatory {row.staff_number} on {on.isoformat()}: "
                           f"they are valid only from {row.valid_from.isoformat()}")
    if row.valid_to is not None and row.valid_to <= on:
        raise Conflict(f"signatory {row.staff_number} of {row.organisation.code} already "
                       f"ended on {row.valid_to.isoformat()}")
    row.valid_to = on
    session.flush()
    _record(session, settings, agent, "signatory-ended", "U", row, {
        "organisation": row.organisation.code, "valid_to": on.isoformat()})
    return row


def end_signatory_by_id(session: Session, settings: Settings, agent: Agent,
                        signatory_id: int, on: dt.date) -> SignatoryRow:
    """:func:`end_signatory` for the entry with ``signatory_id`` (the API's handle)."""
    row = session.get(SignatoryRow, signatory_id)
    if row is None:
        raise NotFound(f"no signatory {signatory_id}")
    organisation = session.get(OrganisationRow, row.organisation_id)
    assert organisation is not None  # a foreign key guarantees it
    return end_signatory(session, settings, agent, organisation_code=organisation.code,
                         staff_number=row.staff_number, on=on)


def get_signatory(session: Session, organisation_code: str, staff_number: str, *,
                  for_update: bool = False) -> SignatoryRow:
    """One register entry, or :class:`NotFound` naming the organisation and number."""
    organisation = get_organisation(session, organisation_code)
    number = normalise_number(staff_number)
    row = repository.get_by_number(session, organisation.id, number, for_update=for_update)
    if row is None:
        raise NotFound(f"{organisation.code} has no signatory with staff number {number}; "
                       "see `caldicott signatory list`")
    return row


def list_signatories(session: Session,
                     organisation_code: str | None = None) -> Sequence[SignatoryRow]:
    """The register, every organisation's or one's."""
    if organisation_code is None:
        return repository.list_signatories(session)
    return repository.list_signatories(session, get_organisation(session, organisation_code).id)


def check_signatures(
    session: Session, organisation_id: int, organisation_kind: str,
    requesting_ref: str | None, countersigning_ref: str | None, on: dt.date,
    required_rank: str | None, *, countersignature_required: bool = True,
) -> list[ProcedureReason]:
    """Did the request's signatures follow procedure? Empty list: yes.

    Looks both references up in the register of ``organisation_id`` only (an
    officer of another organisation does not count), as it stood on ``on``,
    and returns every reason the request falls short (codes in
    :data:`~caldicott.signatories.core.procedure.REASON_CODES`). A
    ``required_rank`` not on the kind's ladder is :class:`InvalidInput` naming
    the ladder. Reads only; records nothing.

    Example:
        >>> check_signatures(session, 12, "police", "PC101", "PS202", dt.date(2018, 3, 1),
        ...                  "inspector")  # doctest: +SKIP
        [ProcedureReason(code='countersignatory_rank_too_low', text="the countersigning ...")]
    """
    try:
        return procedure_reasons(
            organisation_kind, requesting_ref, _entry(session, organisation_id, requesting_ref),
            countersigning_ref, _entry(session, organisation_id, countersigning_ref), on,
            required_rank, countersignature_required=countersignature_required)
    except UnknownRank as error:
        raise InvalidInput(str(error)) from None


def entry_of(row: SignatoryRow) -> SignatoryEntry:
    """The pure view of a register row."""
    return SignatoryEntry(row.id, row.organisation_id, row.staff_number, row.rank,
                          row.valid_from, row.valid_to, row.may_countersign)


def _entry(session: Session, organisation_id: int, ref: str | None) -> SignatoryEntry | None:
    number = normalise_number(ref or "")
    if not number:
        return None
    row = repository.get_by_number(session, organisation_id, number)
    return entry_of(row) if row is not None else None


def _rank_of(organisation: OrganisationRow, rank: str) -> str:
    try:
        ladder(organisation.kind)
    except UnknownRank:
        raise InvalidInput(f"{organisation.code} is a {organisation.kind}, which does not "
                           "request tracing and keeps no register of signatories") from None
    try:
        return canonical_rank(organisation.kind, rank)
    except UnknownRank as error:
        raise InvalidInput(str(error)) from None


def _checked_number(staff_number: str) -> str:
    number = normalise_number(staff_number)
    if not _NUMBER.match(number):
        raise InvalidInput(f"staff or warrant number {staff_number.strip()!r} must be 1-32 "
                           "letters, digits, '/', '.' or '-'")
    return number


def _checked_text(what: str, value: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned or len(cleaned) > 200:
        raise InvalidInput(f"{what} must be 1 to 200 characters")
    if _CONTROL.search(cleaned):  # PostgreSQL refuses NUL; none belongs in a name
        raise InvalidInput(f"{what} holds control characters")
    return cleaned


def _check_dates(valid_from: dt.date, valid_to: dt.date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise InvalidInput(f"valid to ({valid_to.isoformat()}) is before valid from "
                           f"({valid_from.isoformat()})")


def _record(session: Session, settings: Settings, agent: Agent, kind: str, action: Action,
            row: SignatoryRow, details: Mapping[str, JSONScalar]) -> None:
    append_many(session, settings, [AuditEvent(
        type=kind, action=action, outcome="success", recorded=utcnow(), agent=agent,
        what=f"signatory/{row.id}", details=dict(details))])
