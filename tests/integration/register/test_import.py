"""Importing the register from CSV: valid rows in, bad rows refused with reasons."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from caldicott.register import repository
from caldicott.register.csv_io import COLUMNS, record_to_rows, write_register_csv
from caldicott.register.records import Address
from caldicott.register.service import import_observations
from caldicott.register.sources import csv_observations
from caldicott.settings import Settings
from tests.factories import make_patient, synthetic_nhs_numbers


def _import(session: Session, path: Path, strict: bool = False):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        return import_observations(session, csv_observations(handle), strict=strict)


def _bad_input_file(tmp_path: Path) -> tuple[Path, list[str]]:
    numbers = synthetic_nhs_numbers(100)
    good = [make_patient(next(numbers)) for _ in range(2)]
    rows = [row for record in good for row in record_to_rows(record)]
    template = record_to_rows(make_patient(next(numbers)))[-1]
    bad_check = f"{good[0].nhs_number[:9]}{(int(good[0].nhs_number[9]) + 1) % 10}"
    bad = [
        template | {"nhs_number": bad_check},
        template | {"nhs_number": next(numbers), "birth_date": "1990-02-30"},
        template | {"nhs_number": next(numbers), "birth_date": "2999-01-01"},
        template | {"nhs_number": next(numbers), "family_name": ""},
        template | {"nhs_number": next(numbers), "postcode": "NOT A CODE"},
        template | {"nhs_number": good[0].nhs_number, "birth_date": "1970-01-01"},
    ]
    path = tmp_path / "register.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows + bad)
    with path.open("a", newline="", encoding="latin-1") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writerow(template | {"nhs_number": next(numbers), "given_name": "Am\xff\xfera"})
    reasons = ["modulus-11", "not a real date", "in the future", "family name is missing",
               "not a UK postcode shape", "contradicts the register", "not UTF-8"]
    return path, reasons


def test_bad_rows_are_refused_with_row_number_and_reason(session: Session,
                                                         tmp_path: Path) -> None:
    path, reasons = _bad_input_file(tmp_path)
    report = _import(session, path)
    assert report.created == 2
    assert [r[0] for r in sorted(report.rejects)] == [6, 7, 8, 9, 10, 11, 12]
    for (_, _, reason), expected in zip(sorted(report.rejects), reasons, strict=True):
        assert expected in reason
    assert repository.count_patients(session) == 2


def test_strict_refuses_the_whole_file(session: Session, tmp_path: Path) -> None:
    path, _ = _bad_input_file(tmp_path)
    report = _import(session, path, strict=True)
    assert report.refused
    session.rollback()
    assert repository.count_patients(session) == 0


def test_importing_the_same_file_twice_changes_nothing(session: Session, tmp_path: Path) -> None:
    numbers = synthetic_nhs_numbers(200)
    path = tmp_path / "people.csv"
    write_register_csv([make_patient(next(numbers)) for _ in range(30)], path)
    first = _import(session, path)
    before = list(repository.iter_records(session))
    second = _import(session, path)
    assert (first.created, second.created, second.updated) == (30, 0, 0)
    assert list(repository.iter_records(session)) == before


def test_a_new_address_closes_the_open_one_and_keeps_history(session: Session,
                                                             tmp_path: Path) -> None:
    patient = make_patient(next(synthetic_nhs_numbers(300)))
    moved = dataclasses.replace(
        patient, family_name="Marriedname",
        addresses=(Address("9 New Close", "", "Hull", "HU1 2AB", dt.date(2020, 2, 1)),))
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_register_csv([patient], first)
    write_register_csv([moved], second)
    _import(session, first)
    _import(session, second)
    record = repository.load_records(session, [patient.nhs_number])[patient.nhs_number]
    assert [a.postcode for a in record.addresses] == ["LS6 2AB", "BD7 1QA", "HU1 2AB"]
    assert record.addresses[1].to_date == dt.date(2020, 2, 1)
    assert record.last_known_address and record.last_known_address.postcode == "HU1 2AB"
    assert record.previous_names[-1].family == "Okafor-Testperson"


def test_a_person_with_one_name_imports_and_exports_without_a_given_name(
        session: Session, tmp_path: Path) -> None:
    one_name = make_patient(next(synthetic_nhs_numbers(400)), given_name="",
                            family_name="Thandiwekazi")
    path = tmp_path / "one-name.csv"
    write_register_csv([one_name], path)
    report = _import(session, path)
    assert (report.created, report.rejects) == (1, [])
    record = repository.load_records(session, [one_name.nhs_number])[one_name.nhs_number]
    assert (record.given_name, record.family_name) == ("", "Thandiwekazi")
    with path.open(newline="", encoding="utf-8") as handle:
        assert {row["given_name"] for row in csv.DictReader(handle)} == {""}


def test_a_row_with_neither_name_is_still_refused_for_its_family_name(
        session: Session, tmp_path: Path) -> None:
    nameless = make_patient(next(synthetic_nhs_numbers(500)), given_name="",
                            family_name="")
    path = tmp_path / "nameless.csv"
    write_register_csv([nameless], path)
    report = _import(session, path)
    assert report.created == 0
    assert {reason for _, _, reason in report.rejects} == {"family name is missing"}


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"just words\n"])
def test_a_file_that_is_not_a_register_gets_one_line_and_exit_2(
        fresh_settings: Settings, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "caldicott", "register", "import", str(path)],
        capture_output=True, text=True, check=False,
        env={"CALDICOTT_DATABASE_URL": fresh_settings.resolved_database_url,
             "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("caldicott: ")
    assert "Traceback" not in result.stderr + result.stdout
