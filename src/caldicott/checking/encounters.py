"""On-site immigration officers as a channel, not only an hourly charge.

An officer placed at an organisation sees patients. Each encounter is a ledger entry
naming (by per-entry commitment) every patient the officer saw, under the checking-service
agreement in force that day, and a usage event billed by the hour. Services never commit.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from caldicott.agreements.core import Channel
from caldicott.agreements.service import agreement_for_request
from caldicott.billing.core.bills import UsageEvent
from caldicott.billing.core.years import local
from caldicott.billing.service import record_usage
from caldicott.checking import repository
from caldicott.checking.models import OfficerEncounterRow
from caldicott.checking.service import Requester, _ensure_signed
from caldicott.db import utcnow
from caldicott.errors import InvalidInput
from caldicott.ledger.core.events import Agent, AuditEvent
from caldicott.ledger.service import append, subject_of
from caldicott.orgs.service import get_organisation
from caldicott.register.records import RecordError, check_nhs_number
from caldicott.settings import Settings

_OFFICER = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")


def record_encounter(session: Session, settings: Settings, requester: Requester,
                     officer: str, started: dt.datetime, ended: dt.datetime,
                     patients: Sequence[str]) -> OfficerEncounterRow:
    """Record an on-site officer's spell: who they saw, under which agreement, and the
    time to bill.

    Raises:
        Forbidden: the organisation had not signed, or no agreement covers it that day.
        InvalidInput: a bad officer reference, times or NHS number.

    Example:
        >>> record_encounter(session, settings, Requester("RDM01", "user/7"), "HO-OFF-1",
        ...                  start, end, ["9990000018"])  # doctest: +SKIP
    """
    if not _OFFICER.match(officer.strip().upper()):
        raise InvalidInput("an officer reference is 2-32 letters, digits or '-'")
    if started.tzinfo is None or ended.tzinfo is None or ended < started:
        raise InvalidInput("an encounter has a start and a later end, with time zones")
    seen = _patients(patients)
    org = get_organisation(session, requester.organisation)
    day = local(started).date()
    _ensure_signed(session, org, day)
    agreement = agreement_for_request(session, settings, Channel.STATUS_CHECK, org.kind,
                                      org.code, day)
    version = agreement.version_on(day)
    assert version is not None
    row = repository.add(session, OfficerEncounterRow(
        uid=uuid.uuid4().hex, organisation_id=org.id, officer_reference=officer.strip().upper(),
        recorded_by=requester.who, agreement=agreement.id, agreement_version=version.version,
        started_at=started, ended_at=ended))
    repository.add_encounter_patients(session, row.id, seen)
    record_usage(session, [UsageEvent(f"officer/{row.uid}", org.id, "officer", started, ended)])
    append(session, settings, AuditEvent(
        type="officer-encounter", action="E", outcome="success", recorded=utcnow(),
        agent=Agent(requester.who, org.code, requester.role), what=f"officer-encounter/{row.id}",
        purpose="entitlement_to_free_care", agreement=agreement.id,
        agreement_version=version.version,
        subjects=tuple(subject_of(settings, n) for n in seen),
        details={"officer": row.officer_reference, "patients_seen": len(seen),
                 "started_at": started.astimezone(dt.UTC).isoformat(),
                 "ended_at": ended.astimezone(dt.UTC).isoformat()}))
    return row  # type: ignore[no-any-return]


def _patients(numbers: Sequence[str]) -> list[str]:
    try:
        return sorted({check_nhs_number(n) for n in numbers})
    except RecordError as error:
        raise InvalidInput(str(error)) from None
