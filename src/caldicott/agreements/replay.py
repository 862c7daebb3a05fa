"""Replay: re-decide the stored requests under another version, or another reading.

A replay counts **requests**, not decisions: a request decided more than once (queued,
then decided; decided again once the patient was known) counts once, by its latest
decision, as of its own date (its first decision's). It also counts what a person
would ask next: how many releases were made that the replayed version would not have
allowed, and how many people would then have had nothing released about them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from caldicott.agreements import repository
from caldicott.agreements.core import (
    Agreement,
    AgreementVersion,
    Outcome,
    PackSet,
    RequestError,
    load_packs,
    request_from_facts,
)
from caldicott.agreements.core.decide import OutcomeCache

_TRACE_REF = "trace-request/"


@dataclass(frozen=True, slots=True)
class Flip:
    decision_id: int
    as_of: dt.date
    channel: str
    was_agreement: str
    was_version: str | None
    was: str
    now: str
    now_version: str | None = None
    request_ref: str | None = None


@dataclass
class ReplayReport:
    """What re-deciding every stored request under one version (or by date) would change.

    ``version`` None: each request under the target's version in force on its date.
    """

    agreement: str
    version: str | None
    content_hash: str  # "" when replayed by date
    requests: int = 0
    decisions_read: int = 0
    unreadable: int = 0
    outside: int = 0  # by date: requests on a day no version of the target covers
    evaluated: int = 0  # distinct policy inputs actually put to Cedar (the rest were remembered)
    flips: list[Flip] = field(default_factory=list)
    changes: Counter[str] = field(default_factory=Counter)
    releases: int = 0  # requests that ended in a release
    releases_refused: int = 0  # of those, how many the replay would not permit
    people: int = 0  # distinct people something was released about
    people_spared: int = 0  # of those, how many would have had nothing released

    @property
    def replayed(self) -> int:
        """Requests replayed (each once, by its latest decision)."""
        return self.requests

    @property
    def flipped(self) -> int:
        return len(self.flips)


class _Target:
    """The version(s) a replay decides under, each with its outcome cache."""

    def __init__(self, agreement: Agreement, version: AgreementVersion | None) -> None:
        self.agreement, self.fixed = agreement, version
        self.caches: dict[str, OutcomeCache] = {}

    def version_for(self, day: dt.date) -> AgreementVersion | None:
        return self.fixed or self.agreement.version_on(day)

    def outcome(self, version: AgreementVersion, request: Any, day: dt.date) -> Outcome:
        cache = self.caches.get(version.version)
        if cache is None:
            cache = self.caches[version.version] = OutcomeCache(version)
        return cache.outcome(request, day)

    @property
    def misses(self) -> int:
        return sum(c.misses for c in self.caches.values())


def replay(
    session: Session,
    agreement: str,
    version: str | None,
    *,
    decisions_of: str | None = "",
    packs: PackSet | None = None,
    extra_dirs: tuple[Path, ...] = (),
) -> ReplayReport:
    """Re-decide stored requests under ``agreement`` version ``version``, whatever its dates.

    Args:
        version: the version to decide every request under; None to decide each
            under the version in force on the request's date (comparing two readings:
            requests dated where no version is in force are counted as ``outside``).
        decisions_of: whose requests to replay: ``""`` (default) the same
            agreement's, another agreement's id, or None for every stored request on
            the target's channels (e.g. the firewall's what-if).

    Example:
        >>> report = replay(session, "tracing-mou-narrowed", None,
        ...                 decisions_of="tracing-mou")  # doctest: +SKIP
        >>> report.requests, report.changes  # doctest: +SKIP
        (7, Counter({'deny -> permit': 1}))
    """
    from caldicott.agreements.service import find_version

    packs = packs or load_packs(*extra_dirs)
    if agreement not in packs.agreements:
        find_version(packs, agreement, "")  # raises NotFound naming the known agreements
    fixed = find_version(packs, agreement, version) if version is not None else None
    target = _Target(packs.agreements[agreement], fixed)
    scope = agreement if decisions_of == "" else decisions_of
    channels = [c.value for c in target.agreement.channels]
    report = ReplayReport(agreement, version, fixed.content_hash if fixed else "")
    report.decisions_read = repository.count_read(session, agreement=scope, channels=channels)
    verdicts: list[tuple[tuple[str, int], bool]] = []
    rows = repository.iter_requests_for_replay(session, agreement=scope, channels=channels)
    for row in rows:
        verdict = _replay_one(report, target, row)
        if verdict is not None and row.channel == "trace":
            verdicts.append((_unit_key(row), verdict))
    report.evaluated = target.misses
    _count_releases(session, report, verdicts)
    return report


def _replay_one(report: ReplayReport, target: _Target, row: Any) -> bool | None:
    """Replay one request; whether the target permits it (None: not replayed)."""
    try:
        request = request_from_facts(row.request_facts)
    except RequestError:
        report.unreadable += 1
        return None
    version = target.version_for(row.as_of)
    if version is None:
        report.outside += 1
        return None
    now = target.outcome(version, request, row.as_of).value
    report.requests += 1
    if now != row.outcome:
        report.flips.append(Flip(row.id, row.as_of, row.channel, row.agreement, row.version,
                                 row.outcome, now, version.version, row.request_ref))
        report.changes[f"{row.outcome} -> {now}"] += 1
    return now == Outcome.PERMIT.value


def _unit_key(row: Any) -> tuple[str, int]:
    ref = row.request_ref or ""
    if ref.startswith(_TRACE_REF) and ref[len(_TRACE_REF):].isdigit():
        return ("request", int(ref[len(_TRACE_REF):]))
    return ("decision", int(row.id))


def _count_releases(
    session: Session, report: ReplayReport, verdicts: list[tuple[tuple[str, int], bool]]
) -> None:
    """Releases made and the people they were about; which the replay would not allow."""
    if not verdicts:
        return
    known = repository.trace_releases(
        session,
        [key[1] for key, _ in verdicts if key[0] == "request"],
        [key[1] for key, _ in verdicts if key[0] == "decision"],
    )
    people: dict[str, bool] = {}  # matched person -> would any release to them still be made
    for key, permitted in verdicts:
        released, person = known.get(key, (False, None))
        if not released:
            continue
        report.releases += 1
        report.releases_refused += not permitted
        if person is not None:
            people[person] = people.get(person, False) or permitted
    report.people = len(people)
    report.people_spared = sum(1 for kept in people.values() if not kept)
