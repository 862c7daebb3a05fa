"""Noisy look-ups: every kind of noise, and true answers that are true."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from caldicott.errors import InvalidInput
from caldicott.register.records import PatientRecord
from caldicott.synth import Query, generate_people, generate_queries
from caldicott.synth.files import read_queries_csv, write_queries_csv
from caldicott.synth.noise import NOISES
from caldicott.synth.queries import QUERY_COLUMNS

SCENARIOS = {*NOISES, "clean", "namesake", "twin", "not_in_register", "near_miss"}


def _kinds(query: Query) -> list[str]:
    return query.noise.split(";")


def _by_number(register: list[PatientRecord]) -> dict[str, PatientRecord]:
    return {p.nhs_number: p for p in register}


def test_same_seed_gives_the_same_queries() -> None:
    people = list(generate_people(2_000, seed=1))
    assert list(generate_queries(people, 300, seed=5)) == list(generate_queries(people, 300, 5))


def test_every_kind_of_noise_appears(queries: list[Query]) -> None:
    seen = Counter(kind for q in queries for kind in _kinds(q))
    assert set(seen) == SCENARIOS
    assert sum(len(_kinds(q)) > 1 for q in queries) > 100  # some carry two noises


def test_true_answer_is_a_registered_person(queries: list[Query],
                                            register: list[PatientRecord]) -> None:
    people = _by_number(register)
    for query in queries:
        absent = {"not_in_register", "near_miss"} & set(_kinds(query))
        assert (query.true_nhs_number == "") == bool(absent)
        assert not query.true_nhs_number or query.true_nhs_number in people


def test_clean_query_carries_the_persons_own_details(queries: list[Query],
                                                     register: list[PatientRecord]) -> None:
    people = _by_number(register)
    clean = [q for q in queries if q.noise == "clean"]
    assert len(clean) > 200
    for query in clean:
        person = people[query.true_nhs_number]
        address = person.last_known_address
        assert (query.given_name, query.family_name, query.birth_date, query.sex) == (
            person.given_name, person.family_name, person.birth_date.isoformat(), person.sex)
        assert query.postcode == (address.postcode if address else "")


def test_nobody_in_the_register_answers_an_absent_persons_query(
        queries: list[Query], register: list[PatientRecord]) -> None:
    known = {(p.given_name.casefold(), p.family_name.casefold(), p.birth_date.isoformat())
             for p in register}
    absent = [q for q in queries if not q.true_nhs_number]
    assert len(absent) > 300
    for query in absent:
        assert (query.given_name.casefold(), query.family_name.casefold(),
                query.birth_date) not in known


def test_noises_do_what_they_say(queries: list[Query], register: list[PatientRecord]) -> None:
    people = _by_number(register)
    for query in queries:
        if len(_kinds(query)) > 1 or not query.true_nhs_number:
            continue
        person, kind = people[query.true_nhs_number], query.noise
        born = dt.date.fromisoformat(query.birth_date) if query.birth_date else None
        if kind == "transposed_day_month":
            assert born == person.birth_date.replace(day=person.birth_date.month,
                                                     month=person.birth_date.day)
        elif kind == "old_postcode":
            assert query.postcode in {a.postcode for a in person.addresses[:-1]}
            assert query.postcode != person.addresses[-1].postcode
        elif kind == "maiden_name":
            assert query.family_name in {n.family for n in person.previous_names}
        elif kind == "swapped_names":
            assert (query.given_name, query.family_name) == (person.family_name,
                                                             person.given_name)
        elif kind.startswith("missing_"):
            field = kind.removeprefix("missing_")
            assert getattr(query, field) in ("", "unknown")
        elif kind in ("typo", "nickname", "phonetic", "spelling_variant"):
            assert (query.given_name, query.family_name) != (person.given_name,
                                                             person.family_name)


def test_namesake_queries_have_someone_else_with_the_same_name_and_birthday(
        queries: list[Query], register: list[PatientRecord]) -> None:
    keys = Counter((p.given_name, p.family_name, p.birth_date.isoformat()) for p in register)
    namesakes = [q for q in queries if q.noise in ("namesake", "namesake;missing_postcode")]
    assert namesakes
    for query in namesakes:
        assert keys[(query.given_name, query.family_name, query.birth_date)] > 1


def test_queries_csv_has_the_documented_columns(tmp_path: Path, queries: list[Query]) -> None:
    path = tmp_path / "queries.csv"
    assert write_queries_csv(queries[:50], path) == 50
    assert path.read_text().splitlines()[0] == ",".join(QUERY_COLUMNS)
    assert list(read_queries_csv(path)) == queries[:50]


def test_an_empty_register_is_refused() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        list(generate_queries([], 5, seed=1))
