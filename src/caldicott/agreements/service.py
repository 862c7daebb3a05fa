"""Agreement use cases: decide and record, and replay past decisions.

Services never commit; the edge (a route, a CLI command) owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from caldicott.agreements import repository
from caldicott.agreements.core import (
    Agreement,
    AgreementVersion,
    Decision,
    PackSet,
    Request,
    RequestError,
    decide,
    load_packs,
    request_from_facts,
)
from caldicott.agreements.core.decide import OutcomeCache
from caldicott.agreements.models import AgreementDecisionRow
from caldicott.errors import NotFound


def find_version(packs: PackSet, agreement: str, version: str) -> AgreementVersion:
    """The named version, or NotFound naming what exists."""
    found = packs.agreements.get(agreement)
    if found is None:
        known = ", ".join(sorted(packs.agreements)) or "none"
        raise NotFound(f"no agreement {agreement!r} (known: {known})")
    named = found.version_named(version)
    if named is None:
        known = ", ".join(v.version for v in found.versions)
        raise NotFound(f"agreement {agreement} has no version {version!r} (versions: {known})")
    return named


def record_decision(session: Session, request: Request, decision: Decision) -> AgreementDecisionRow:
    """Store a decision with the request's facts, so it can be replayed.

    Example:
        >>> row = record_decision(session, request, decide(request, as_of, mou))  # doctest: +SKIP
    """
    row = AgreementDecisionRow(
        as_of=decision.as_of,
        channel=request.channel.value,
        agreement=decision.agreement,
        version=decision.version,
        content_hash=decision.content_hash,
        outcome=decision.outcome.value,
        request_facts=request.facts(),
        released_fields=sorted(decision.released_fields),
        unmet=[[u.clause_id, u.text] for u in decision.unmet],
    )
    return repository.add_decision(session, row)


def decide_and_record(
    session: Session, request: Request, as_of: dt.date, agreement: Agreement
) -> Decision:
    """Decide under the version in force on ``as_of`` and store the decision."""
    decision = decide(request, as_of, agreement)
    record_decision(session, request, decision)
    return decision


@dataclass(frozen=True, slots=True)
class Flip:
    decision_id: int
    as_of: dt.date
    channel: str
    was_agreement: str
    was_version: str | None
    was: str
    now: str


@dataclass
class ReplayReport:
    """What re-deciding every past decision under one version would change."""

    agreement: str
    version: str
    content_hash: str
    replayed: int = 0
    unreadable: int = 0
    evaluated: int = 0  # distinct policy inputs actually put to Cedar (the rest were remembered)
    flips: list[Flip] = field(default_factory=list)
    changes: Counter[str] = field(default_factory=Counter)

    @property
    def flipped(self) -> int:
        return len(self.flips)


def replay(
    session: Session,
    agreement: str,
    version: str,
    *,
    decisions_of: str | None = "",
    packs: PackSet | None = None,
    extra_dirs: tuple[Path, ...] = (),
) -> ReplayReport:
    """Re-decide stored decisions under ``agreement`` version ``version``, whatever its dates.

    Args:
        decisions_of: whose decisions to replay: ``""`` (default) the same
            agreement's, another agreement's id, or None for every stored
            decision on the version's channels (e.g. the firewall's what-if).

    Example:
        >>> report = replay(session, "tracing-mou", "2")  # doctest: +SKIP
        >>> report.flipped, report.replayed  # doctest: +SKIP
        (412, 1000)
    """
    packs = packs or load_packs(*extra_dirs)
    target = find_version(packs, agreement, version)
    scope = agreement if decisions_of == "" else decisions_of
    report = ReplayReport(agreement, version, target.content_hash)
    cache = OutcomeCache(target)
    rows = repository.iter_decisions_for_replay(
        session, agreement=scope, channels=[c.value for c in target.channels]
    )
    for row in rows:
        try:
            request = request_from_facts(row.request_facts)
        except RequestError:
            report.unreadable += 1
            continue
        now = cache.outcome(request, row.as_of).value
        report.replayed += 1
        if now != row.outcome:
            report.flips.append(
                Flip(row.id, row.as_of, row.channel, row.agreement, row.version, row.outcome, now)
            )
            report.changes[f"{row.outcome} -> {now}"] += 1
    report.evaluated = cache.misses
    return report
