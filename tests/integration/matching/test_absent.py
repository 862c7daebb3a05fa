"""Somebody not on the register whose namesake or twin is (issue 11): a complete request
for them is never released, in real time or in batch, on either backend; a person who
moved is still traced from an address the register keeps in their history."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from caldicott.matching.batch import trace_file
from caldicott.matching.core.comparisons import GIVEN
from caldicott.matching.core.normalise import normalise_person
from caldicott.matching.core.release import ReleaseRule
from caldicott.matching.service import check_request, trace_request
from caldicott.register.records import Address, PatientRecord
from caldicott.synth.people import NhsNumbers

from .factories import fill_register, register_people

Query = tuple[str, str, str, str, str, str]  # id, given, family, birth date, postcode, sex
OTHER_NAMES = ("Zebedee", "Ottoline", "Quentin", "Xanthe", "Ulrika")


def _postcode(person: PatientRecord) -> str:
    return person.last_known_address.postcode  # type: ignore[union-attr]


def _unlike(given: str) -> str:
    """A given name the model finds unlike ``given`` in every way (its ``else`` level)."""
    def level(other: str) -> str:
        a, b = (normalise_person("x", name, "Lee", None) for name in (given, other))
        return GIVEN.levels[GIVEN.level_of(a, b)].label
    return next(n for n in OTHER_NAMES if level(n) == "else" and n[0] != given[:1].upper())


def _namesake(person: PatientRecord, number: str) -> PatientRecord:
    """The same names, sex and birthday, living (and having lived) elsewhere."""
    elsewhere = "TR18 4AB" if not _postcode(person).startswith("TR") else "NE1 4ST"
    return replace(person, nhs_number=number, previous_names=(),
                   addresses=(Address("9 Other Road", "", "Othertown", elsewhere,
                                      dt.date(2012, 1, 1)),))


def _twin(person: PatientRecord, number: str) -> PatientRecord:
    """Same family name, birthday, sex and home; another given name."""
    return replace(person, nhs_number=number, given_name=_unlike(person.given_name),
                   previous_names=())


def _query(person: PatientRecord, tag: str, postcode: str | None = None) -> Query:
    return (tag, person.given_name, person.family_name, person.birth_date.isoformat(),
            postcode or _postcode(person), person.sex or "")


@pytest.fixture()
def world(session: Session) -> tuple[Session, list[PatientRecord], list[PatientRecord]]:
    """The register holds each absent person's namesake (even) or twin (odd), not them."""
    people = register_people()
    crowd = [p for p in people[:-4] if p.last_known_address and p.given_name
             and p.death_date is None and not p.restricted]
    absent, present = crowd[:30], crowd[30:]
    taken = {p.nhs_number for p in people}
    fresh = (n for n in NhsNumbers(seed=919191) if n not in taken)
    others = [(_namesake if i % 2 == 0 else _twin)(p, next(fresh)) for i, p in enumerate(absent)]
    gone = {p.nhs_number for p in absent}
    fill_register(session, [p for p in people if p.nhs_number not in gone] + others)
    return session, absent, present


def _real_time(session: Session, query: Query, rule: ReleaseRule | None = None
               ) -> tuple[str, str]:
    _, given, family, born, postcode, sex = query
    result = trace_request(session, check_request(given, family, born, postcode, sex or None),
                           rule)
    return result.outcome.value, result.nhs_number or ""


def test_a_complete_request_for_an_absent_namesake_or_twin_is_never_released(
        world: tuple[Session, list[PatientRecord], list[PatientRecord]]) -> None:
    session, absent, _ = world
    queries = [_query(p, p.nhs_number) for p in absent]
    outcomes = {q[0]: _real_time(session, q) for q in queries}
    assert {o for o, _ in outcomes.values()} <= {"no_trace", "too_many_matches"}
    # Without contradictions the same requests name the namesake or the twin: the
    # evidence for them is overwhelming, only the contradiction tells them apart.
    blind = ReleaseRule(contradicting=frozenset())
    wrongly = {q[0] for q in queries if _real_time(session, q, blind)[0] == "traced"}
    assert len([q for i, q in enumerate(queries) if i % 2 == 0 and q[0] in wrongly]) >= 10
    assert len([q for i, q in enumerate(queries) if i % 2 == 1 and q[0] in wrongly]) >= 10


def test_the_trace_says_the_best_candidate_was_contradicted(
        world: tuple[Session, list[PatientRecord], list[PatientRecord]]) -> None:
    session, absent, _ = world
    namesake, twin = absent[0], absent[1]
    for person, field in ((namesake, "postcode"), (twin, "given name")):
        result = trace_request(session, check_request(
            person.given_name, person.family_name, person.birth_date, _postcode(person),
            person.sex))
        assert result.best is not None and result.best.nhs_number != person.nhs_number
        assert result.bar_json()["contradicted_by"] == [field]
        assert result.explain().endswith(
            f"the best candidate's {field} contradicts the request's on every register row "
            "(never released)")


def test_a_mover_is_traced_from_a_previous_address_and_people_on_the_register_are_found(
        world: tuple[Session, list[PatientRecord], list[PatientRecord]]) -> None:
    session, _, present = world
    movers = [p for p in present if len({a.postcode for a in p.addresses}) > 1][:15]
    assert len(movers) >= 5
    for person in movers:
        old = next(a.postcode for a in person.addresses if a.postcode != _postcode(person))
        assert _real_time(session, _query(person, "m", old)) == ("traced", person.nhs_number)
    outcomes = [_real_time(session, _query(p, "p")) for p in present]
    assert all(n in ("", p.nhs_number) for p, (_, n) in zip(present, outcomes, strict=True))
    assert sum(o == "traced" for o, _ in outcomes) >= 0.9 * len(present)


def test_batch_refuses_the_same_contradicted_leaders_as_real_time(
        world: tuple[Session, list[PatientRecord], list[PatientRecord]], tmp_path: Path) -> None:
    session, absent, present = world
    queries = [_query(p, p.nhs_number) for p in absent]
    queries += [_query(p, f"p{i}") for i, p in enumerate(present[:20])]
    path, out = tmp_path / "queries.csv", tmp_path / "results.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query_id", "given_name", "family_name", "birth_date", "postcode",
                         "sex"])
        writer.writerows(queries)
    trace_file(session, path, out)
    with out.open(newline="") as handle:
        batch = {r["query_id"]: (r["outcome"], r["nhs_number"]) for r in csv.DictReader(handle)}
    assert batch == {q[0]: _real_time(session, q) for q in queries}
    assert all(batch[p.nhs_number][0] != "traced" for p in absent)
    assert sum(o == "traced" for o, _ in batch.values()) >= 15
