from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from caldicott.errors import InvalidInput, Unprocessable
from caldicott.matching import repository
from caldicott.matching.batch import trace_file
from caldicott.matching.core.release import Outcome
from caldicott.matching.service import Untraceable, check_request, trace_request
from caldicott.register.records import PatientRecord
from caldicott.synth.queries import generate_queries

from .factories import fill_register, import_one_name_people, register_people, special_people

SPECIAL = special_people()


@pytest.fixture()
def register(session: Session) -> Session:
    fill_register(session, register_people())
    return session


def test_traces_a_person_on_the_register_and_records_the_model_version(
        register: Session) -> None:
    result = trace_request(register, check_request("Zanthe", "Quillfeather", "1984-03-12"))
    assert result.outcome is Outcome.TRACED
    assert result.nhs_number == SPECIAL["zanthe"].nhs_number
    assert result.model_version == repository.active_model_version(register)[0]
    assert [p.comparison for p in result.best.score.parts] == [
        "given_name", "family_name", "birth_date", "postcode", "sex"]


def test_traces_a_person_by_a_previous_name(register: Session) -> None:
    result = trace_request(register, check_request("Zanthe", "Hollowmere", "1984-03-12",
                                                   "LS1 4AP"))
    assert result.nhs_number == SPECIAL["zanthe"].nhs_number


def test_traces_a_person_whose_names_are_swapped(register: Session) -> None:
    result = trace_request(register, check_request("Quillfeather", "Zanthe", "1984-03-12",
                                                   "LS1 4AP"))
    assert result.outcome is Outcome.TRACED


def test_refuses_release_when_two_candidates_are_close(register: Session) -> None:
    result = trace_request(register, check_request("Orla", "Brannigan", "1990-05-05"))
    assert result.outcome is Outcome.TOO_MANY_MATCHES
    assert result.nhs_number is None
    assert {c.nhs_number for c in result.candidates[:2]} == {
        SPECIAL["orla1"].nhs_number, SPECIAL["orla2"].nhs_number}


def test_no_trace_for_someone_not_on_the_register(register: Session) -> None:
    result = trace_request(register, check_request("Quentin", "Oddbody", "2001-09-09"))
    assert result.outcome is Outcome.NO_TRACE and result.nhs_number is None


def test_a_weak_match_is_not_released(register: Session) -> None:
    # Same family name and date of birth, another given name, no postcode.
    result = trace_request(register, check_request("Maud", "Quillfeather", "1984-03-12"))
    assert result.outcome is Outcome.NO_TRACE


# --- people with one name (issue 11) ---------------------------------------------


@pytest.fixture()
def one_name_register(session: Session) -> tuple[Session, dict[str, PatientRecord]]:
    people = import_one_name_people(session)
    fill_register(session, register_people())
    return session, people


def test_traces_a_person_with_one_name_by_family_name_birth_date_and_postcode(
        one_name_register: tuple[Session, dict[str, PatientRecord]]) -> None:
    session, people = one_name_register
    result = trace_request(session, check_request(None, "Thandiwekazi", "1979-08-14",
                                                  "LS6 2QT"))
    assert result.outcome is Outcome.TRACED
    assert result.nhs_number == people["thandiwekazi"].nhs_number


def test_a_person_with_one_name_is_never_released_for_their_namesake_or_in_their_place(
        one_name_register: tuple[Session, dict[str, PatientRecord]]) -> None:
    session, people = one_name_register
    namesake = trace_request(session, check_request("Amara", "Thandiwekazi", "1979-08-14",
                                                    "BD7 1QA"))
    assert (namesake.outcome, namesake.nhs_number) == (Outcome.TRACED,
                                                       people["amara"].nhs_number)
    # Family name and date of birth alone fit both: nobody is released.
    both = trace_request(session, check_request(None, "Thandiwekazi", "1979-08-14"))
    assert both.outcome is not Outcome.TRACED and both.nhs_number is None
    assert {c.nhs_number for c in both.candidates[:2]} == {
        p.nhs_number for p in people.values()}


def test_a_given_name_against_a_person_with_one_name_is_no_evidence_either_way(
        one_name_register: tuple[Session, dict[str, PatientRecord]]) -> None:
    session, people = one_name_register
    named = trace_request(session, check_request("Nomvula", "Thandiwekazi", "1979-08-14",
                                                 "LS6 2QT"))
    unnamed = trace_request(session, check_request(None, "Thandiwekazi", "1979-08-14",
                                                   "LS6 2QT"))
    assert named.best is not None and unnamed.best is not None
    assert named.best.nhs_number == people["thandiwekazi"].nhs_number
    given = named.best.score.parts[0]
    assert (given.comparison, given.level, given.total) == ("given_name", "null", 0.0)
    assert named.best.score.match_weight == unnamed.best.score.match_weight
    assert named.best.score.match_probability < 1.0
    # The namesake's given name disagrees with "Nomvula": she scores lower, not higher.
    amara = next(c for c in named.candidates if c.nhs_number == people["amara"].nhs_number)
    assert amara.score.parts[0].level == "else"
    assert amara.score.match_weight < named.best.score.match_weight
    assert (named.outcome, named.nhs_number) == (unnamed.outcome, unnamed.nhs_number)


@pytest.mark.parametrize(("given", "family", "born", "why"), [
    ("Ann", "Lee", "2999-01-01", "in the future"),
    ("Ann", "Lee", "1990-02-30", "not a real date"),
    ("Ann", "!!", "1990-01-01", "family name !! has no letters"),
])
def test_refuses_a_bad_request(given: str, family: str, born: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        check_request(given, family, born)


@pytest.mark.parametrize(("given", "family", "born", "postcode", "sex", "why"), [
    ("", "", "1990-01-01", "LS1 4AP", "female",
     "no name: .* \\(missing: given name, family name\\)"),
    ("Ann", "", "", "", "", "only a name: .* \\(missing: family name, date of birth, "
     "postcode, sex\\)"),
    ("", "Lee", "", "", "female", "only a name: .* \\(missing: given name, date of birth, "
     "postcode\\)"),
    ("Ann", "Lee", "", "", "unknown", "only a name: .*missing: date of birth, postcode, sex"),
])
def test_refuses_a_request_with_nothing_identifying_left_saying_what_is_missing(
        given: str, family: str, born: str, postcode: str, sex: str, why: str) -> None:
    with pytest.raises(Untraceable, match=why) as refused:
        check_request(given, family, born, postcode, sex)
    assert refused.value.status_code == 422


@pytest.mark.parametrize(("given", "family", "born", "postcode"), [
    ("Ann", "", "1990-01-01", ""), ("", "Lee", "1990-01-01", ""), ("Ann", "Lee", "", "LS1 4AP"),
    ("", "Lee", "", "LS1 4AP"), ("Ann", "", "", "LS1 4AP")])
def test_accepts_a_name_with_a_date_of_birth_or_a_postcode(
        given: str, family: str, born: str, postcode: str) -> None:
    request = check_request(given, family, born, postcode)
    assert (request.given_name, request.family_name, request.postcode) == (
        given or None, family or None, postcode or None)


def test_tracing_without_a_trained_model_says_so(session: Session) -> None:
    with pytest.raises(Unprocessable, match="model train"):
        trace_request(session, check_request("Ann", "Lee", "1990-01-01"))


def test_batch_gives_the_same_outcome_as_real_time(register: Session, tmp_path: Path) -> None:
    queries = tmp_path / "queries.csv"
    people = register_people()
    rows = [q.as_row() for q in generate_queries(people, 80, seed=9)]
    rows.append({"query_id": "bad", "given_name": "A", "family_name": "", "birth_date": "x",
                 "postcode": "", "sex": ""})
    with queries.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "results.csv"
    report = trace_file(register, queries, out)
    with out.open(newline="") as handle:
        reader = csv.DictReader(handle)
        batch = {r["query_id"]: r for r in reader}
        assert reader.fieldnames == [
            "query_id", "outcome", "nhs_number", "match_probability", "margin"]
    assert batch["bad"]["outcome"] == "invalid" and report.invalid == 1
    for row in rows[:-1]:
        real_time = trace_request(register, check_request(
            row["given_name"], row["family_name"], row["birth_date"], row["postcode"] or None,
            row["sex"] or None))
        assert (batch[row["query_id"]]["outcome"], batch[row["query_id"]]["nhs_number"]) == (
            real_time.outcome.value, real_time.nhs_number or ""), row
    assert report.outcomes["traced"] > 40


def test_batch_traces_people_with_one_name_as_real_time_does(
        one_name_register: tuple[Session, dict[str, PatientRecord]], tmp_path: Path) -> None:
    session, people = one_name_register
    requests = [("alone", "", "Thandiwekazi", "1979-08-14", "LS6 2QT"),
                ("named", "Nomvula", "Thandiwekazi", "1979-08-14", "LS6 2QT"),
                ("namesake", "Amara", "Thandiwekazi", "1979-08-14", "BD7 1QA"),
                ("either", "", "Thandiwekazi", "1979-08-14", "")]
    queries = tmp_path / "queries.csv"
    with queries.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query_id", "given_name", "family_name", "birth_date", "postcode"])
        writer.writerows(requests)
    out = tmp_path / "results.csv"
    trace_file(session, queries, out)
    with out.open(newline="") as handle:
        batch = {r["query_id"]: (r["outcome"], r["nhs_number"]) for r in csv.DictReader(handle)}
    for query_id, given, family, born, postcode in requests:
        real_time = trace_request(session, check_request(given, family, born, postcode or None))
        assert batch[query_id] == (real_time.outcome.value, real_time.nhs_number or ""), query_id
    assert batch["alone"] == ("traced", people["thandiwekazi"].nhs_number)
    assert batch["namesake"] == ("traced", people["amara"].nhs_number)
