"""Training on any register of two or more people (issue 11): a clean register
with no duplicate records, a tiny one, one too small to train on."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from caldicott.errors import Unprocessable
from caldicott.matching.core.normalise import Person, normalise_person
from caldicott.matching.core.release import Outcome
from caldicott.matching.frames import people_frame
from caldicott.matching.service import check_request, trace_request, train_model
from caldicott.matching.training import train
from caldicott.register.csv_io import write_register_csv
from caldicott.register.records import Address, PatientRecord, PreviousName
from caldicott.register.repository import save_records
from caldicott.settings import Settings
from caldicott.synth.people import NhsNumbers, generate_people


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "caldicott", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def _env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "CALDICOTT_DATABASE_URL": settings.database_url}


def people_without_duplicates(n: int, seed: int) -> list[PatientRecord]:
    """Synthetic people as a fresh FHIR import has them: one name, one address,
    and no two alike (the generator's twins and namesakes left out)."""
    seen: set[tuple[object, ...]] = set()
    people = []
    for person in generate_people(n, seed=seed):
        person = dataclasses.replace(person, previous_names=(), addresses=person.addresses[-1:])
        postcode = person.addresses[-1].postcode if person.addresses else None
        keys = {("names", person.given_name.lower(), person.family_name.lower(),
                 person.birth_date),
                ("place", person.family_name.lower(), person.birth_date, postcode)}
        if keys & seen:
            continue
        seen |= keys
        people.append(person)
    return people


def test_model_train_with_no_options_on_a_register_without_duplicates_traces_its_people(
        fresh_settings: Settings, tmp_path: Path) -> None:
    people = people_without_duplicates(300, seed=5)
    write_register_csv(people, tmp_path / "people.csv")
    env = _env(fresh_settings)
    assert _run(env, "register", "import", str(tmp_path / "people.csv")).returncode == 0
    trained = _run(env, "model", "train")
    assert trained.returncode == 0, trained.stderr
    assert "model version 1 sha256 " in trained.stdout
    assert f"prior/1 / {len(people)} people" in trained.stdout
    person = people[7]
    assert person.last_known_address is not None
    traced = _run(env, "trace", "one", "--given", person.given_name, "--family",
                  person.family_name, "--birth-date", person.birth_date.isoformat(),
                  "--postcode", person.last_known_address.postcode)
    assert traced.returncode == 0, traced.stderr
    assert "outcome: traced" in traced.stdout
    assert f"nhs_number: {person.nhs_number}" in traced.stdout


def test_model_train_on_a_one_person_register_is_one_line_and_exit_2(
        fresh_settings: Settings, tmp_path: Path) -> None:
    # A previous name gives the one person two rows in the index: still one person.
    [person] = people_without_duplicates(1, seed=11)
    person = dataclasses.replace(person, previous_names=(PreviousName("Ann", "Oldname"),))
    write_register_csv([person], tmp_path / "one.csv")
    env = _env(fresh_settings)
    assert _run(env, "register", "import", str(tmp_path / "one.csv")).returncode == 0
    trained = _run(env, "model", "train")
    assert trained.returncode == 2
    assert trained.stdout == ""
    assert trained.stderr.strip() == ("caldicott: the register holds 1 person: training a "
                                      "model needs at least two (import the register first)")


def test_two_people_are_enough_to_train_a_model(session: Session) -> None:
    numbers = NhsNumbers(seed=8080)
    pair = [PatientRecord(next(numbers), "Ione", "Marchbank", dt.date(1961, 2, 3), "female",
                          addresses=(Address("2 Test Row", "", "Testtown", "YO1 7HH",
                                             dt.date(2001, 1, 1)),)),
            PatientRecord(next(numbers), "Tobiah", "Gressingham", dt.date(1999, 9, 30), "male",
                          addresses=(Address("9 Test Row", "", "Testtown", "TR1 2AB",
                                             dt.date(2020, 1, 1)),))]
    save_records(session, pair, [], dt.datetime.now(dt.UTC))
    report = train_model(session)
    assert report.register_rows == 2 and report.link_type == "dedupe_only"
    result = trace_request(session, check_request("Ione", "Marchbank", "1961-02-03", "YO1 7HH"))
    assert result.outcome is Outcome.TRACED and result.nhs_number == pair[0].nhs_number


def test_training_an_empty_register_says_how_many_people_it_holds(session: Session) -> None:
    with pytest.raises(Unprocessable, match="holds 0 people"):
        train_model(session)


def _rows_at_unique_postcodes(n: int) -> Iterator[Person]:
    """Index rows of people who moved (one row per address), no postcode shared
    by two rows: duplicates the deterministic rules find, none a postcode pairs."""
    seen: set[str] = set()
    for person in generate_people(n, seed=5):
        postcodes = [a.postcode for a in person.addresses]
        if len(postcodes) < 2 or seen & set(postcodes):
            continue
        seen.update(postcodes)
        for number, postcode in enumerate(postcodes):
            row = normalise_person(f"{person.nhs_number}-{number}", person.given_name,
                                   person.family_name, person.birth_date, postcode, person.sex)
            yield dataclasses.replace(row, nhs_number=person.nhs_number)


def test_em_blocks_on_a_wider_column_when_no_two_rows_share_a_postcode() -> None:
    trained = train(people_frame(list(_rows_at_unique_postcodes(400))))
    # Date of birth is estimated in the postcode session (here blocked on a wider
    # column): by EM, neither stated nor floored.
    assert not [p for p in trained.pins
                if (p["comparison"], p["level"]) == ("birth_date", "exact")]
    birth_date = next(c for c in trained.model["comparisons"]
                      if c["output_column_name"] == "birth_date")
    exact = next(lv for lv in birth_date["comparison_levels"]
                 if lv.get("label_for_charts") == "exact")
    assert exact["m_probability"] > 0.5
