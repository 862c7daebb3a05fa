"""The report a Caldicott Guardian would ask for after 9 May 2018.

Every disclosure already made to the Home Office, by channel, and how many of
them were about people whose tracing would now be refused: each release's
stored facts decided again under the version of a reading in force on a given
day (by default the narrowed memorandum of 9 May 2018). It counts people
without naming them: the report is for the Guardian's desk, not for a
requester.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from caldicott.agreements.core import Outcome, decide, load_packs, request_from_facts
from caldicott.agreements.models import AgreementDecisionRow
from caldicott.errors import NotFound
from caldicott.orgs.models import OrganisationRow
from caldicott.requests.core.states import Status
from caldicott.requests.models import TraceRequestRow

#: The channels a disclosure to the Home Office can take; only tracing exists so far.
CHANNELS = ("trace", "status_check", "debt_referral")


@dataclass
class ChannelCount:
    disclosures: int = 0
    people: int = 0
    now_refused: int = 0
    people_now_refused: int = 0


@dataclass
class GuardianReport:
    reading: str
    as_of: dt.date
    version: str | None
    channels: dict[str, ChannelCount] = field(default_factory=dict)
    clauses: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        head = (f"Disclosures to the Home Office, decided again under {self.reading} "
                f"version {self.version} (in force on {self.as_of.isoformat()}):")
        rows = [head, f"{'channel':<14} {'disclosures':>11} {'people':>7} "
                      f"{'would now be refused':>21} {'people':>7}"]
        for channel in CHANNELS:
            count = self.channels.get(channel, ChannelCount())
            rows.append(f"{channel:<14} {count.disclosures:>11} {count.people:>7} "
                        f"{count.now_refused:>21} {count.people_now_refused:>7}")
        rows += [f"  refused under clause {clause}: {number}"
                 for clause, number in sorted(self.clauses.items())]
        return rows


def guardian_report(session: Session, as_of: dt.date = dt.date(2018, 5, 9),
                    reading: str = "tracing-mou-narrowed") -> GuardianReport:
    """Count past disclosures to the Home Office whose subject's tracing would now be refused.

    Example:
        >>> guardian_report(session).channels["trace"].now_refused  # doctest: +SKIP
        3
    """
    agreement = load_packs().agreements.get(reading)
    if agreement is None:
        raise NotFound(f"no agreement {reading!r} to decide under")
    version = agreement.version_on(as_of)
    report = GuardianReport(reading, as_of, version.version if version else None)
    rows = session.execute(
        select(TraceRequestRow.matched_nhs_number, AgreementDecisionRow.request_facts)
        .join(OrganisationRow, OrganisationRow.id == TraceRequestRow.organisation_id)
        .join(AgreementDecisionRow, AgreementDecisionRow.id == TraceRequestRow.decision_id)
        .where(OrganisationRow.kind == "home_office",
               TraceRequestRow.status.in_((Status.RELEASED, Status.DECEASED_CONFIRMED))))
    people: set[str] = set()
    refused_people: set[str] = set()
    count = report.channels.setdefault("trace", ChannelCount())
    for nhs_number, facts in rows:
        count.disclosures += 1
        people.add(str(nhs_number))
        decision = decide(request_from_facts(dict(facts)), as_of, agreement)
        if decision.outcome is not Outcome.PERMIT:
            count.now_refused += 1
            refused_people.add(str(nhs_number))
            report.clauses.update(u.clause_id for u in decision.unmet)
    count.people, count.people_now_refused = len(people), len(refused_people)
    return report
