"""``decide``: a request, a date and an agreement's versions in; a Decision out.

Pure: no database, no clock. The caller supplies the versions (from
:func:`caldicott.agreements.core.load_packs` or wherever the service keeps them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import cedarpy

from caldicott.agreements.core.cedar import NO_ENTITIES, SCHEMA, compiled
from caldicott.agreements.core.model import Agreement, AgreementVersion, Decision, UnmetCondition
from caldicott.agreements.core.requests import Request, date_number
from caldicott.agreements.core.vocabulary import (
    RESTRICTED_CLAUSE_ID,
    RESTRICTED_CLAUSE_TEXT,
    RESTRICTED_FIELDS,
    Outcome,
)


def decide(
    request: Request, as_of: dt.date, agreement: Agreement | Iterable[AgreementVersion]
) -> Decision:
    """Decide a request under the version of ``agreement`` in force on ``as_of``.

    Args:
        request: a :class:`TraceRequest`, :class:`StatusCheckRequest` or
            :class:`DebtReferralRequest`.
        as_of: the request's date; it picks the version, and dates in the
            conditions (an invoice's age) are counted to it.
        agreement: the agreement, or its versions.

    Example:
        >>> from caldicott.agreements.core import load_packs, TraceRequest
        >>> mou = load_packs().agreements["tracing-mou"]
        >>> ask = TraceRequest("home-office", frozenset({"name"}), category="overstayer",
        ...                    alternatives_exhausted=True)
        >>> decide(ask, dt.date(2017, 6, 1), mou).outcome.value
        'permit'
        >>> decide(ask, dt.date(2016, 12, 31), mou).unmet[0].clause_id
        'in-force'
    """
    versions = tuple(agreement.versions if isinstance(agreement, Agreement) else agreement)
    version = next((v for v in versions if v.in_force_on(as_of)), None)
    if version is None:
        return _no_version(request, as_of, versions)
    return decide_under(request, as_of, version)


def _no_version(
    request: Request, as_of: dt.date, versions: tuple[AgreementVersion, ...]
) -> Decision:
    name = versions[0].agreement if versions else "(none)"
    spans = "; ".join(
        f"version {v.version} from {v.effective_from.isoformat()}"
        + (f" until {v.effective_to.isoformat()}" if v.effective_to else "")
        for v in versions
    )
    text = f"No version of this agreement is in force on {as_of.isoformat()}"
    text += f" ({spans})." if spans else "."
    return Decision(
        name,
        None,
        None,
        Outcome.DENY,
        as_of,
        refused_fields=request.requested_fields,
        unmet=(UnmetCondition("in-force", text),),
    )


def _context(request: Request, as_of: dt.date, fields: frozenset[str]) -> dict[str, Any]:
    return {
        "requested_fields": sorted(fields),
        "patient_restricted": request.patient_restricted,
        "request_date": date_number(as_of),
        **request.channel_context(as_of),
    }


def _cedar_request(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    return {
        "principal": {"type": "Requester", "id": request.requester},
        "action": {"type": "Action", "id": request.channel.value},
        "resource": {"type": "Disclosure", "id": "request"},
        "context": context,
    }


def decide_under(
    request: Request, as_of: dt.date, version: AgreementVersion, *, explain: bool = True
) -> Decision:
    """Decide under one given version, whatever its dates (what replay does).

    ``explain=False`` skips working out the unmet conditions of a deny: replay
    only needs the outcome.
    """
    withheld = (
        request.requested_fields & RESTRICTED_FIELDS if request.patient_restricted else frozenset()
    )
    asked = request.requested_fields - withheld
    refused = asked - version.allowed_fields
    base = Decision(
        outcome=Outcome.DENY,
        agreement=version.agreement,
        version=version.version,
        content_hash=version.content_hash,
        as_of=as_of,
        approval=version.approval,
        withheld_fields=withheld,
        refused_fields=refused,
        purpose=_purpose_of(request),
    )
    if request.channel not in version.channels:
        covered = ", ".join(c.value for c in version.channels)
        text = f"This agreement covers {covered}, not {request.channel.value}."
        return replace(base, unmet=(UnmetCondition("channel", text),))
    wrong_purpose = _wrong_purpose(request, version)
    if wrong_purpose is not None:
        return replace(base, unmet=(wrong_purpose,))
    if version.suspended:
        text = (
            f"Version {version.version} is suspended pending review; "
            "the request waits in the queue."
        )
        return replace(base, outcome=Outcome.QUEUE, unmet=(UnmetCondition("suspended", text),))
    cedar_request = _cedar_request(request, _context(request, as_of, asked))
    program = compiled(version)
    result = cedarpy.is_authorized(cedar_request, program.decision_set, NO_ENTITIES, SCHEMA)
    applied = tuple(sorted(result.diagnostics.id_annotations_by_reason.values()))
    if result.allowed and asked:
        # Belt and braces: Cedar's permit already implies asked <= allowed.
        released = asked & version.allowed_fields
        return replace(
            base, outcome=Outcome.PERMIT, released_fields=released, applied_clauses=applied
        )
    unmet = _unmet(version, program, cedar_request, applied, withheld) if explain else ()
    return replace(base, unmet=unmet, applied_clauses=applied)


def _purpose_of(request: Request) -> str | None:
    purpose = getattr(request, "purpose", None)  # a debt referral states none
    return purpose if isinstance(purpose, str) else None


def _wrong_purpose(request: Request, version: AgreementVersion) -> UnmetCondition | None:
    """The purpose clause, quoted, when the request's purpose is not one of the version's
    (their codes and words are the version's ``purposes``: ``caldicott agreement show``).

    A request that states no purpose (``None``: facts stored before purposes were
    recorded) is not checked; every live request states one.
    """
    purpose = _purpose_of(request)
    if purpose is None or not version.purposes or purpose in version.purpose_codes:
        return None
    clause = version.clause(version.purpose_clause)
    return UnmetCondition(clause.id, clause.text)


def _unmet(
    version: AgreementVersion,
    program: Any,
    cedar_request: dict[str, Any],
    applied: tuple[str, ...],
    withheld: frozenset[str],
) -> tuple[UnmetCondition, ...]:
    """Every condition that stood in the way, in its clause's words.

    Forbidding clauses that applied come first. Then, when no permit applied,
    the conditions that did not hold, in the order the clauses are written.
    Where a version has alternative permits (the £500 rule, the £1,000 rule),
    the explanation covers the alternatives that came nearest: those with the
    fewest unmet conditions, each condition labelled with its rule. A £600
    debt 59 days old is told about the 60 days, not about £1,000.
    """
    unmet = [
        UnmetCondition(c.id, c.text)
        for c in version.clauses
        if c.id in applied and c.id in program.forbid_ids
    ]
    permit_applied = any(a.startswith("permit:") for a in applied)
    if not permit_applied and program.probe_set is not None:
        probe = cedarpy.is_authorized(cedar_request, program.probe_set, NO_ENTITIES, SCHEMA)
        unmet.extend(
            _nearest_unmet(version, set(probe.diagnostics.id_annotations_by_reason.values()))
        )
    if not cedar_request["context"]["requested_fields"] and withheld:
        unmet.append(UnmetCondition(RESTRICTED_CLAUSE_ID, RESTRICTED_CLAUSE_TEXT))
    if not unmet:
        # A version with no permit and no forbid (the loader refuses one; say so plainly).
        unmet.append(UnmetCondition("no-permit", f"Version {version.version} permits no request."))
    return tuple(unmet)


def _nearest_unmet(version: AgreementVersion, held: set[str]) -> list[UnmetCondition]:
    by_rule = {
        rule: [c for c in version.conditions_of(rule) if c.id not in held] for rule in version.rules
    }
    if not by_rule or min(len(u) for u in by_rule.values()) == 0:
        return []  # some alternative was fully met: only a forbid can have denied
    fewest = min(len(u) for u in by_rule.values())
    nearest = {rule for rule, missing in by_rule.items() if len(missing) == fewest}
    several = len(version.rules) > 1
    result = []
    for clause in version.clauses:
        rules = [r for r in sorted(nearest) if clause in by_rule[r]]
        if rules:
            label = rules[0] if several and clause.rule else None
            result.append(UnmetCondition(clause.id, clause.text, label))
    return result


_CONTEXT_ATTRIBUTE = re.compile(r"context\.([A-Za-z_][A-Za-z0-9_]*)")


class OutcomeCache:
    """Outcomes under one version, remembered by the facts the version actually reads.

    Replay re-decides many requests that look the same to a version (the same
    category, the same sentence, the same fields). A Cedar decision is a pure
    function of the policies and the request, so two requests that agree on
    every context attribute the version's clauses mention (and on the fields
    asked for) get the same outcome; the second is answered from memory.

    Example:
        >>> from caldicott.agreements.core import load_packs, TraceRequest
        >>> cache = OutcomeCache(load_packs().agreements["tracing-mou"].versions[1])
        >>> ask = TraceRequest("home-office", frozenset({"name"}), category="overstayer")
        >>> [cache.outcome(ask, dt.date(2017, 6, day)).value for day in (1, 2)]
        ['deny', 'deny']
        >>> cache.misses
        1
    """

    def __init__(self, version: AgreementVersion) -> None:
        self.version = version
        expressions = [c.requires or "" for c in version.clauses]
        expressions += [c.forbids or "" for c in version.clauses]
        self._reads = sorted({m for e in expressions for m in _CONTEXT_ATTRIBUTE.findall(e)})
        self._reads_principal = any("principal" in e for e in expressions)
        self._seen: dict[tuple[Any, ...], Outcome] = {}
        self.misses = 0

    def _key(self, request: Request, as_of: dt.date) -> tuple[Any, ...]:
        context = _context(request, as_of, request.requested_fields)
        # A request on another channel lacks some attributes: it is denied before Cedar.
        values = [context.get(name) for name in self._reads]
        facts = tuple(tuple(v) if isinstance(v, list) else v for v in values)
        requester = request.requester if self._reads_principal else ""
        return (
            request.channel,
            _purpose_of(request),
            requester,
            request.requested_fields,
            request.patient_restricted,
            facts,
        )

    def outcome(self, request: Request, as_of: dt.date) -> Outcome:
        key = self._key(request, as_of)
        found = self._seen.get(key)
        if found is None:
            self.misses += 1
            found = decide_under(request, as_of, self.version, explain=False).outcome
            self._seen[key] = found
        return found
