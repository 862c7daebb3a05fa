"""PDS-style patient search over the register (``GET /fhir/Patient``).

Fuzzy searches go through the matcher: candidates from the blocking index,
scored with the active model; ``search.score`` is 1.0 only when every supplied
field agrees exactly, else the match probability (capped below 1). Non-fuzzy
searches are algorithmic, as in PDS: names (with ``*`` wildcards), date of
birth or range, gender and postcode must all hold, and each result scores 1.0.

Privacy rules (domain.md 5.5): a restricted patient's address, GP, telecom and
contact are never in a response, and a search that names a postcode returns no
restricted patient at all (it would confirm where they live).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from caldicott.matching import repository
from caldicott.matching.core.normalise import Person, normalise_person, postcode_parts
from caldicott.matching.core.pds_search import PatientSearch
from caldicott.matching.core.release import ReleaseRule
from caldicott.matching.core.scorer import Part
from caldicott.matching.core.trace import trace
from caldicott.register.fhir import record_to_fhir
from caldicott.register.models import AddressRow, PatientRow
from caldicott.register.repository import load_records

FUZZY_FLOOR = 0.5  # a fuzzy result must be more likely than not to be the person
_EXACT_LEVELS = {"exact", "full postcode"}
_RESTRICTED_FIELDS = ("address", "generalPractitioner", "telecom", "contact", "contained")


@dataclass(frozen=True)
class SearchResult:
    scored: tuple[tuple[str, float], ...]  # (NHS number, score), best first
    too_many: bool
    model_version: int | None = None


def _like(value: str) -> str:
    return value.lower().replace("%", r"\%").replace("_", r"\_").replace("*", "%")


def _name_clause(column: Any, value: str) -> Any:
    lowered = func.lower(column)
    if "*" in value:
        return lowered.like(_like(value), escape="\\")
    value = value.lower()
    return or_(lowered == value, lowered.like(_like(value) + " %", escape="\\"))


def _postcode_clause(raw: str) -> Any:
    if "*" in raw:
        pattern = _like(raw.replace(" ", "")).upper()
        compact = func.replace(AddressRow.postcode, " ", "")
        return exists().where(and_(AddressRow.nhs_number == PatientRow.nhs_number,
                                   compact.like(pattern, escape="\\")))
    full = postcode_parts(raw)[0]
    return or_(PatientRow.postcode == full, exists().where(
        and_(AddressRow.nhs_number == PatientRow.nhs_number, AddressRow.postcode == full)))


def _algorithmic(session: Session, s: PatientSearch) -> list[str]:
    clauses = [_name_clause(PatientRow.family_name, s.family or "")]
    clauses += [_name_clause(PatientRow.given_name, g) for g in s.given]
    if s.born_on:
        clauses.append(PatientRow.birth_date == s.born_on)
    if s.born_from:
        clauses.append(PatientRow.birth_date >= s.born_from)
    if s.born_to:
        clauses.append(PatientRow.birth_date <= s.born_to)
    if s.gender:
        clauses.append(PatientRow.sex == s.gender)
    if s.postcode:
        clauses.append(_postcode_clause(s.postcode))
        clauses.append(PatientRow.restricted.is_(False))
    query = (select(PatientRow.nhs_number).where(*clauses)
             .order_by(PatientRow.nhs_number).limit(s.max_results + 1))
    return list(session.scalars(query))


def _fuzzy(session: Session, s: PatientSearch) -> tuple[list[tuple[str, float]], int]:
    from caldicott.matching.service import scorer_for

    version, scorer = scorer_for(session)
    born = s.born_on or s.born_from or s.born_to
    request = normalise_person("search", " ".join(s.given) or None, s.family, born,
                               s.postcode, s.gender if s.gender != "unknown" else None)
    result = trace(request, repository.candidate_rows(session, request), scorer,
                   ReleaseRule(), version)
    scored = []
    for candidate in result.candidates:
        p = candidate.score.match_probability
        if p < FUZZY_FLOOR:
            break
        exact = _every_supplied_field_exact(request, candidate.score.parts)
        scored.append((candidate.nhs_number, 1.0 if exact else min(round(p, 4), 0.99)))
    return scored, version


def _every_supplied_field_exact(request: Person, parts: Sequence[Part]) -> bool:
    """Whether each field the search gave agrees exactly. A field the register
    lacks (a one-name person's given name) falls to the null level like a field
    the search left out, but it did not agree: a search naming a given name
    never scores 1.0 against a person who has none."""
    return all(part.level in _EXACT_LEVELS
               or (part.level == "null" and getattr(request, part.comparison) is None)
               for part in parts)


def search_patients(session: Session, s: PatientSearch) -> SearchResult:
    """Run a validated search; ``too_many`` when more people match than allowed."""
    version = None
    if s.fuzzy:
        scored, version = _fuzzy(session, s)
        if s.postcode:
            restricted = _restricted_numbers(session, [n for n, _ in scored])
            scored = [(n, p) for n, p in scored if n not in restricted]
    else:
        scored = [(n, 1.0) for n in _algorithmic(session, s)]
    if s.exact:
        scored = [(n, p) for n, p in scored if p == 1.0]
    if len(scored) > s.max_results:
        return SearchResult((), True, version)
    return SearchResult(tuple(scored), False, version)


def _restricted_numbers(session: Session, numbers: Sequence[str]) -> set[str]:
    if not numbers:
        return set()
    return set(session.scalars(select(PatientRow.nhs_number).where(
        PatientRow.nhs_number.in_(numbers), PatientRow.restricted.is_(True))))


def _redact(resource: dict[str, Any]) -> dict[str, Any]:
    if resource["meta"]["security"][0]["code"] == "R":
        for name in _RESTRICTED_FIELDS:
            resource.pop(name, None)
    return resource


def _self_link(base_url: str) -> list[dict[str, str]]:
    # The search's own URL without its parameters: they are a patient's name, date of
    # birth and postcode, and a Bundle is stored and logged by clients and proxies that
    # never see the query string. FHIR clients only need the link to be there.
    return [{"relation": "self", "url": f"{base_url}/Patient"}]


def bundle(session: Session, result: SearchResult, base_url: str) -> dict[str, Any]:
    """The searchset Bundle PDS returns, best first; TOO_MANY_MATCHES as an outcome entry."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    link = _self_link(base_url)
    if result.too_many:
        outcome = {"resourceType": "OperationOutcome", "issue": [{
            "severity": "information", "code": "multiple-matches",
            "details": {"coding": [{
                "system": "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode",
                "code": "TOO_MANY_MATCHES", "display": "Too Many Matches"}]},
            "diagnostics": "more people match than _max-results allows; narrow the search"}]}
        return {"resourceType": "Bundle", "type": "searchset", "timestamp": now, "total": 0,
                "link": link, "entry": [{"search": {"mode": "outcome"}, "resource": outcome}]}
    records = load_records(session, [n for n, _ in result.scored])
    entries = [{"fullUrl": f"{base_url}/Patient/{n}", "search": {"score": score},
                "resource": _redact(record_to_fhir(records[n]))}
               for n, score in result.scored if n in records]
    return {"resourceType": "Bundle", "type": "searchset", "timestamp": now,
            "total": len(entries), "link": link, "entry": entries}
