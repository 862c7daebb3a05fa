"""Agreement use cases: which agreement a request falls under, activating drafts, deciding
and recording, and (in :mod:`caldicott.agreements.replay`) replaying past decisions.

Services never commit; the edge (a route, a CLI command) owns the transaction.

What is in force for live requests (:func:`packs_in_force`): the shipped packs (reviewed
as code) by their dates, and of the drafts in ``<data_dir>/agreements`` only the versions
an administrator activated, while the file is byte for byte what was activated. What-if
packs (the firewall, the narrowed reading of 9 May 2018) are never in force.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from caldicott.agreements import repository
from caldicott.agreements.core import (
    Agreement,
    AgreementVersion,
    Channel,
    Decision,
    PackSet,
    Request,
    decide,
    load_packs,
)
from caldicott.agreements.core.model import version_status
from caldicott.agreements.models import AgreementActivationRow, AgreementDecisionRow
from caldicott.errors import Forbidden, NotFound, Unprocessable
from caldicott.settings import Settings

_CHANNEL_WORDS = {
    Channel.TRACE: "tracing",
    Channel.STATUS_CHECK: "status check",
    Channel.DEBT_REFERRAL: "debt referral",
}


def drafts_dir(settings: Settings) -> Path:
    """Where local draft packs live: ``<data_dir>/agreements``."""
    return Path(settings.data_dir) / "agreements"


def all_packs(settings: Settings, *extra: Path) -> PackSet:
    """Every pack, shipped and draft, activated or not (listing, showing, replay).

    Reloaded when a draft file changes (its name, size or modification time).
    """
    folders = [p for p in (drafts_dir(settings), *extra) if p.is_dir()]
    stamp = tuple(
        (str(f), f.stat().st_mtime_ns, f.stat().st_size)
        for folder in folders
        for f in sorted(folder.glob("*.toml"))
    )
    return _load(tuple(str(f) for f in folders), stamp)


@lru_cache(maxsize=8)
def _load(folders: tuple[str, ...], stamp: tuple[tuple[str, int, int], ...]) -> PackSet:
    return load_packs(*folders)


def activated(session: Session) -> frozenset[tuple[str, str, str, str]]:
    """(agreement, version, content hash, file SHA-256) of every activation recorded."""
    return frozenset(repository.activations(session))


def is_activated(version: AgreementVersion, agreement: Agreement,
                 activations: frozenset[tuple[str, str, str, str]]) -> bool:
    key = (agreement.id, version.version, version.content_hash, agreement.file_sha256)
    return key in activations


def packs_in_force(session: Session, settings: Settings) -> PackSet:
    """The agreements live requests may be decided under (replaces ``packs_for``).

    Shipped packs keep every version (each in force by its dates); a draft keeps
    only its activated versions, and drops out if none is; what-if packs are left
    out. Problems of files that did not load are passed on.

    Example:
        >>> packs = packs_in_force(session, settings)  # doctest: +SKIP
        >>> "firewall" in packs.agreements  # doctest: +SKIP
        False
    """
    packs = all_packs(settings)
    activations = activated(session)
    live = PackSet(problems=list(packs.problems))
    for agreement in packs.agreements.values():
        if agreement.what_if:
            continue
        if not agreement.shipped:
            kept = tuple(v for v in agreement.versions if is_activated(v, agreement, activations))
            if not kept:
                continue
            agreement = replace(agreement, versions=kept)
        live.agreements[agreement.id] = agreement
    return live


def agreement_for_request(
    session: Session,
    settings: Settings,
    channel: Channel,
    organisation_kind: str,
    organisation_code: str,
    day: dt.date,
) -> Agreement:
    """The agreement a request falls under: from its channel, who asks and its date.

    Never from a name the requester picks. The agreement must have a version on
    ``day`` (in force, suspended or withdrawn: the decision then says so in the
    agreement's words) and name the organisation as a requester, by kind and, where
    the agreement names one, by code. A party named by code wins over one named by
    kind only; two agreements that still both fit are refused as ambiguous.

    Raises:
        Forbidden: no agreement in force that day has the organisation as a requester.
        Unprocessable: more than one does.

    Example:
        >>> agreement_for_request(session, settings, Channel.TRACE, "home_office", "HO-IE",
        ...                       dt.date(2017, 6, 1)).id  # doctest: +SKIP
        'tracing-mou'
    """
    packs = packs_in_force(session, settings)
    fitting = []
    for agreement in packs.agreements.values():
        version = agreement.version_on(day)
        if channel in agreement.channels and version is not None and version.requester_admitted(
            organisation_kind, organisation_code
        ):
            fitting.append(agreement)
    named = [a for a in fitting if _names_code(a, organisation_code)]
    found = named or fitting
    who = f"{organisation_code} ({organisation_kind})"
    words = _CHANNEL_WORDS[channel]
    if not found:
        raise Forbidden(
            f"no {words} agreement in force on {day.isoformat()} has {who} as a requester"
        )
    if len(found) > 1:
        ids = ", ".join(sorted(a.id for a in found))
        raise Unprocessable(
            f"several {words} agreements in force on {day.isoformat()} have {who} as a "
            f"requester ({ids}); an administrator must withdraw all but one"
        )
    return found[0]


def _names_code(agreement: Agreement, code: str) -> bool:
    return any(
        p.code is not None and p.code.casefold() == code.strip().casefold()
        for p in agreement.parties
    )


def activate(
    session: Session, settings: Settings, agreement_id: str, version: str, by_email: str
) -> tuple[AgreementActivationRow, bool]:
    """An administrator puts one version of a draft in force, exactly as the file now is.

    Records the activation (the version's content hash and the file's SHA-256) and
    one ledger entry naming both. Activating what is already active changes nothing.
    Returns the activation and whether it is new.

    Raises:
        NotFound: no such draft, version or user.
        Forbidden: the user may not manage agreements.
        Unprocessable: a shipped or what-if pack, or a draft file with problems.

    Example:
        >>> row, new = activate(session, settings, "local-mou", "1",
        ...                     "admin@example.org")  # doctest: +SKIP
    """
    from caldicott.agreements.activation import ledger_event, the_administrator

    # Read the files afresh (not the cache): the hashes recorded are those of the bytes now.
    folder = drafts_dir(settings)
    packs = load_packs(folder) if folder.is_dir() else load_packs()
    draft = _draft(packs, agreement_id, settings)
    named = find_version(packs, agreement_id, version)
    user, event_agent = the_administrator(session, by_email)
    key = (agreement_id, named.version, named.content_hash, draft.file_sha256)
    existing = repository.activation(session, *key)
    if existing is not None:
        return existing, False
    row = repository.add_activation(session, AgreementActivationRow(
        activated_by=user.id, agreement=agreement_id, version=named.version,
        content_hash=named.content_hash, file_sha256=draft.file_sha256))
    from caldicott.ledger.service import append_many

    append_many(session, settings, [ledger_event(event_agent, draft, named)])
    return row, True


def _draft(packs: PackSet, agreement_id: str, settings: Settings) -> Agreement:
    found = packs.agreements.get(agreement_id)
    if found is None:
        problems = [str(p) for p in packs.problems if Path(p.file).parent == drafts_dir(settings)]
        detail = f"; problems in the drafts: {'; '.join(problems)}" if problems else ""
        raise NotFound(f"no agreement {agreement_id!r} in {drafts_dir(settings)}{detail}")
    if found.shipped:
        raise Unprocessable(
            f"{agreement_id} is a shipped pack, in force by its dates; only drafts in "
            f"{drafts_dir(settings)} are activated"
        )
    if found.what_if:
        raise Unprocessable(f"{agreement_id} is a what-if pack; it is never in force")
    return found


def statuses(
    session: Session | None, settings: Settings, today: dt.date, *extra: Path
) -> list[tuple[Agreement, AgreementVersion, str]]:
    """Every version with its status on ``today`` (``caldicott agreement list``).

    ``session`` None (no database): no draft counts as activated.
    """
    packs = all_packs(settings, *extra)
    activations = activated(session) if session is not None else frozenset()
    return [
        (a, v, version_status(v, today, draft=not a.shipped,
                              activated=is_activated(v, a, activations)))
        for a in packs.agreements.values()
        for v in a.versions
    ]


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


def record_decision(
    session: Session, request: Request, decision: Decision, *, request_ref: str | None = None
) -> AgreementDecisionRow:
    """Store a decision with the request's facts, so it can be replayed.

    Args:
        request_ref: which request it decides, e.g. ``"trace-request/42"``: a request
            decided more than once counts once in a replay, by its latest decision.

    Example:
        >>> row = record_decision(session, request, decide(request, as_of, mou),
        ...                       request_ref="trace-request/42")  # doctest: +SKIP
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
        request_ref=request_ref,
        purpose=decision.purpose,
    )
    return repository.add_decision(session, row)


def decide_and_record(
    session: Session,
    request: Request,
    as_of: dt.date,
    agreement: Agreement,
    *,
    request_ref: str | None = None,
) -> Decision:
    """Decide under the version in force on ``as_of`` and store the decision."""
    decision = decide(request, as_of, agreement)
    record_decision(session, request, decision, request_ref=request_ref)
    return decision


from caldicott.agreements.replay import Flip, ReplayReport, replay  # noqa: E402

__all__ = [
    "Flip",
    "ReplayReport",
    "activate",
    "agreement_for_request",
    "all_packs",
    "decide_and_record",
    "find_version",
    "packs_in_force",
    "record_decision",
    "replay",
    "statuses",
]
