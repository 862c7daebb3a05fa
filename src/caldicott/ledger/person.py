"""One person across channels: every ledger entry about a patient, found through the
private keyed index, grouped by the channel it went through.

The public leaves hold only per-entry commitments, so nobody reading them can
link two entries about one person. Finding a person's entries needs the keyed
index beside the log (``ledger_subject``: pseudonym -> leaf), and the key of
the pseudonyms, which lives in the data folder. :func:`entries_about` is the
only way in; the API lets only reviewers and auditors with every
organisation's ledger in scope call it, and each call is itself an entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from caldicott.access.core.policy import can
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action, Role
from caldicott.db import utcnow
from caldicott.errors import Forbidden, InvalidInput
from caldicott.ledger import repository
from caldicott.ledger.core.events import Agent, AuditEvent, JSONScalar
from caldicott.ledger.service import append, integrate_queue, subject_of
from caldicott.register.records import RecordError, check_nhs_number
from caldicott.settings import Settings

#: The channel of an entry, from what it is about (``what``'s kind) ...
CHANNEL_OF_WHAT = {"trace-request": "trace", "status-check": "status_check",
                   "debt-referral": "debt_referral", "ledger": "lookup"}
#: ... or else from the agreement it relied on.
CHANNEL_OF_AGREEMENT = {"tracing-mou": "trace", "checking-service-mou": "status_check",
                        "debt-referral": "debt_referral"}
CLI_OPERATOR = Agent("system/cli", "caldicott", "operator")
REPORT_ROLES = (Role.REVIEWER, Role.AUDITOR)


@dataclass(frozen=True, slots=True)
class PersonEntry:
    """One ledger entry about the person, as the report shows it."""

    index: int
    recorded: str
    type: str
    outcome: str
    channel: str
    agreement: str | None
    agreement_version: str | None
    purpose: str | None
    request: str  # what the entry is about, e.g. "trace-request/42"
    actor_organisation: str
    recipient_organisation: str | None  # the requester's organisation, where known
    details: Mapping[str, JSONScalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PersonReport:
    """Every entry about one person, by channel (trace, status_check, debt_referral, ...)."""

    channels: dict[str, list[PersonEntry]]

    @property
    def total(self) -> int:
        return sum(len(entries) for entries in self.channels.values())

    def disclosures(self, channel: str) -> int:
        return sum(e.type == "disclosure" for e in self.channels.get(channel, []))


def channel_of(what: str, agreement: str | None) -> str:
    """The channel an entry belongs to.

    Example:
        >>> channel_of("trace-request/42", "tracing-mou")
        'trace'
        >>> channel_of("invoice/7", "debt-referral")
        'debt_referral'
    """
    kind = what.split("/", 1)[0]
    return CHANNEL_OF_WHAT.get(kind) or CHANNEL_OF_AGREEMENT.get(agreement or "", "other")


def entries_about(session: Session, settings: Settings, nhs_number: str) -> list[PersonEntry]:
    """Every ledger entry about the patient with ``nhs_number``, oldest first.

    Reads the private keyed index; callers must have checked who asks (see
    :func:`person_report`). On PostgreSQL the queue is integrated first, so an
    entry committed a moment ago is found too.

    Example:
        >>> [e.type for e in entries_about(session, settings, "9990000018")]  # doctest: +SKIP
        ['trace-request-traced', 'trace-request-reviewed', 'disclosure', 'trace-request-closed']
    """
    number = _checked(nhs_number)
    integrate_queue(session, settings)  # PostgreSQL: queued entries get their index rows now
    digest = bytes.fromhex(subject_of(settings, number).digest)
    rows = repository.entries_with_pseudonym(session, "nhs_number", digest)
    parsed = [(index, json.loads(entry), details) for index, entry, details in rows]
    request_ids = {_request_id(e["entity"]["what"]) for _, e, _ in parsed} - {None}
    recipients = repository.request_recipients(session, sorted(i for i in request_ids if i))
    return [_entry(index, e, details, recipients) for index, e, details in parsed]


def person_report(session: Session, settings: Settings, principal: Principal | None,
                  nhs_number: str) -> PersonReport:
    """The report of one person across channels, for a reviewer or an auditor.

    ``principal`` None is the operator at the command line (who holds the
    database and the keys anyway). The lookup itself is recorded in the ledger,
    naming who asked and (as a commitment) whom they asked about.

    Example:
        >>> person_report(session, settings, guardian, "9990000018").total  # doctest: +SKIP
        4
    """
    if principal is not None:
        _ensure_may_report(principal)
    number = _checked(nhs_number)
    found = entries_about(session, settings, number)
    channels: dict[str, list[PersonEntry]] = {}
    for entry in found:
        channels.setdefault(entry.channel, []).append(entry)
    agent = CLI_OPERATOR if principal is None else Agent(
        f"user/{principal.user_id}", principal.organisation_code,
        next(r.value for r in REPORT_ROLES if principal.has_role(r)))
    append(session, settings, AuditEvent(
        type="ledger-person-report", action="R", outcome="success", recorded=utcnow(),
        agent=agent, what="ledger/person", subjects=(subject_of(settings, number),),
        details={"entries": len(found)}))
    return PersonReport(channels)


def _ensure_may_report(principal: Principal) -> None:
    if not principal.has_role(*REPORT_ROLES):
        raise Forbidden("the report of one person is for reviewers and auditors only")
    verdict = can(principal, Action.READ_LEDGER, organisation_id=-1)  # every organisation's
    if not verdict.allowed:
        raise Forbidden(verdict.reason)


def _checked(nhs_number: str) -> str:
    try:
        return check_nhs_number(nhs_number.strip())
    except RecordError:  # the message would repeat the number: say what is wrong only
        raise InvalidInput("nhs_number must be a valid NHS number (10 digits, check digit "
                           "correct)") from None


def _request_id(what: str) -> int | None:
    kind, _, number = what.partition("/")
    return int(number) if kind == "trace-request" and number.isdigit() else None


def _entry(index: int, entry: dict[str, object], details: bytes | None,
           recipients: Mapping[int, str]) -> PersonEntry:
    entity, agent = entry["entity"], entry["agent"]
    agreement = entry.get("agreement") or {}
    assert isinstance(entity, dict) and isinstance(agent, dict) and isinstance(agreement, dict)
    what = str(entity["what"])
    request_id = _request_id(what)
    return PersonEntry(
        index=index, recorded=str(entry["recorded"]), type=str(entry["type"]),
        outcome=str(entry["outcome"]), channel=channel_of(what, agreement.get("id")),
        agreement=agreement.get("id"), agreement_version=agreement.get("version"),
        purpose=_text(entry.get("purposeOfEvent")), request=what,
        actor_organisation=str(agent["organisation"]),
        recipient_organisation=None if request_id is None else recipients.get(request_id),
        details=json.loads(details) if details else {})


def _text(value: object) -> str | None:
    return None if value is None else str(value)
