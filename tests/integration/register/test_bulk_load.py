"""The bulk-load fast path gives exactly what the row-by-row path gives, and a
load into an empty register (indexes built after) stays all-or-nothing."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, inspect
from sqlalchemy.orm import Session

from caldicott.db import make_engine
from caldicott.errors import NotAFile
from caldicott.migrations import upgrade
from caldicott.register import repository
from caldicott.register.csv_io import COLUMNS, record_to_rows
from caldicott.register.importer import run_import
from caldicott.register.models import PatientRow
from caldicott.register.records import Address, NewPatient, PreviousName
from caldicott.register.service import ImportReport, import_observations
from caldicott.register.sources import compact_csv_observations, csv_observations
from caldicott.settings import Settings
from tests.factories import make_patient, synthetic_nhs_numbers

REGISTER_TABLES = ("patient", "patient_address", "patient_previous_name")


def _tricky_rows() -> list[dict[str, str]]:
    """Rows the fast path must hand to the row-by-row path, or get exactly right."""
    numbers = synthetic_nhs_numbers(700)
    plain = make_patient(next(numbers))
    rows = record_to_rows(plain)
    template = rows[-1]

    def person(**changes: str) -> dict[str, str]:
        return template | {"nhs_number": next(numbers)} | changes

    moved = dataclasses.replace(
        plain, family_name="Newname",
        addresses=(Address("7 Later Road", "", "York", "YO1 7AA", dt.date(2021, 3, 1)),))
    unordered = make_patient(next(numbers), addresses=(
        Address("2 Second St", "", "Hull", "HU1 1AA", dt.date(2015, 1, 1)),
        Address("1 First St", "", "Hull", "HU2 2BB", dt.date(2010, 1, 1), dt.date(2015, 1, 1))))
    two_open = make_patient(next(numbers), addresses=(
        Address("1 First St", "", "Hull", "HU2 2BB", dt.date(2010, 1, 1)),
        Address("2 Second St", "", "Hull", "HU1 1AA", dt.date(2015, 1, 1))))
    repeated = make_patient(next(numbers), addresses=(
        Address("1 First St", "", "Hull", "HU2 2BB", dt.date(2010, 1, 1), dt.date(2012, 1, 1)),
        Address("1 First St", "", "Hull", "HU2 2BB", dt.date(2010, 1, 1))))
    renamed = make_patient(next(numbers), previous_names=(PreviousName("Ann", "Old"),))
    return [
        *rows,
        person(postcode="ls6 2ab"),                         # postcode to normalise
        person(postcode="LS62AB"),
        person(birth_date="19800102"),                      # ISO, but not YYYY-MM-DD
        person(address_from="20050101"),
        person(death_date="1700-01-01"),                    # death before birth
        person(birth_date="1879-12-31"),
        person(nhs_number="999 000 0018"),                  # spaces in the NHS number
        person(sex="FEMALE"), person(sex="robot"),
        person(restricted="YES"), person(restricted="maybe"),
        person(previous_names="Ann|Old; Bea|Older"), person(previous_names="Ann"),
        person(previous_names="|Old"), person(given_name="R2D2"),
        person(given_name=""), person(given_name="", previous_names="Ann|Old"),  # one name
        person(gp_practice_code="", gp_practice_name="", gp_practice_address=""),
        person(address_line1="", postcode="", address_from="", address_to=""),
        person(address_to="2000-01-01"),                    # ends before it starts
        person(registered_on="2020-13-01"),
        *record_to_rows(moved),                             # the same patient again
        *record_to_rows(renamed), *record_to_rows(unordered), *record_to_rows(two_open),
        *record_to_rows(repeated), *record_to_rows(renamed),  # again: unchanged
        template,                                           # plain again, later on
    ]


def _csv(rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _load(session: Session, content: bytes, fast: bool,
          into_empty: bool = False) -> tuple[ImportReport, list[object]]:
    savepoint = session.begin_nested()
    try:
        report = import_observations(
            session, compact_csv_observations(io.BytesIO(content), fast=fast),
            today=dt.date(2026, 1, 1), into_empty=into_empty)
        return report, list(repository.iter_records(session))
    finally:
        savepoint.rollback()


@pytest.mark.parametrize("columns", [COLUMNS, tuple(c for c in COLUMNS if c != "restricted")])
def test_fast_path_gives_what_the_row_by_row_path_gives(session: Session,
                                                        columns: tuple[str, ...]) -> None:
    content = _csv(_tricky_rows(), columns)
    assert repository.count_patients(session) == 0
    fast_report, fast_register = _load(session, content, fast=True)
    slow_report, slow_register = _load(session, content, fast=False)
    assert fast_register == slow_register
    assert fast_report == slow_report
    assert _load(session, content, fast=True, into_empty=True) == (fast_report, fast_register)
    assert fast_report.rejects and fast_report.created > 10 and fast_report.unchanged


def test_fast_path_takes_clean_patients_and_leaves_the_rest() -> None:
    content = _csv(_tricky_rows())
    kinds = [type(item).__name__
             for _, item in compact_csv_observations(io.BytesIO(content))]
    assert kinds[0] == "NewPatient"
    assert {"NewPatient", "PatientRecord", "RecordError"} <= set(kinds)
    # The row-by-row reading of the same file sees the same patients.
    slow = [item for _, item in csv_observations(io.BytesIO(content))]
    fast = [item.record() if isinstance(item, NewPatient) else item
            for _, item in compact_csv_observations(io.BytesIO(content), fast=False)]
    assert [str(i) if isinstance(i, Exception) else i for i in slow] == [
        str(i) if isinstance(i, Exception) else i for i in fast]


def _indexes(engine: Engine) -> set[tuple[str, str | None]]:
    inspector = inspect(engine)
    return {(table, index["name"]) for table in REGISTER_TABLES
            for index in inspector.get_indexes(table)}


@pytest.fixture()
def empty_register(fresh_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(fresh_settings)
    upgrade(fresh_settings, engine)
    yield engine
    engine.dispose()


def test_load_into_an_empty_register_rebuilds_its_indexes(
        empty_register: Engine, fresh_settings: Settings, tmp_path: Path) -> None:
    before = _indexes(empty_register)
    path = tmp_path / "people.csv"
    path.write_bytes(_csv(_tricky_rows()))
    report = run_import(path, settings=fresh_settings, show_progress=False)
    assert report.created > 10
    assert _indexes(empty_register) == before and len(before) >= 6
    with Session(empty_register) as session:
        assert repository.count_patients(session) == report.created


def test_strict_refusal_of_a_load_leaves_the_register_and_its_indexes(
        empty_register: Engine, fresh_settings: Settings, tmp_path: Path) -> None:
    before = _indexes(empty_register)
    path = tmp_path / "people.csv"
    path.write_bytes(_csv(_tricky_rows()))
    report = run_import(path, strict=True, settings=fresh_settings, show_progress=False)
    assert report.refused
    assert _indexes(empty_register) == before
    with Session(empty_register) as session:
        assert repository.count_patients(session) == 0


def test_a_load_that_fails_half_way_leaves_the_register_and_its_indexes(
        empty_register: Engine, fresh_settings: Settings, tmp_path: Path) -> None:
    before = _indexes(empty_register)
    numbers = synthetic_nhs_numbers(900)
    rows = [row for _ in range(6000) for row in record_to_rows(make_patient(next(numbers)))]
    path = tmp_path / "people.csv"
    # A field past the csv module's limit: an unreadable file, found after a batch.
    path.write_bytes(_csv(rows) + b"9990000018,Ann," + b"x" * 200_000 + b"\n")
    with pytest.raises(NotAFile):
        run_import(path, settings=fresh_settings, show_progress=False)
    assert _indexes(empty_register) == before
    with Session(empty_register) as session:
        assert repository.count_patients(session) == 0


def test_reading_in_a_second_process_gives_the_same_import(
        empty_register: Engine, fresh_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(_csv(_tricky_rows()))
    results = []
    for parallel in (True, False):
        report = run_import(path, settings=fresh_settings, show_progress=False,
                            parallel=parallel)
        with Session(empty_register) as session, session.begin():
            results.append((report, list(repository.iter_records(session))))
            session.execute(delete(PatientRow))
    assert results[0] == results[1]
    assert results[0][0].created > 10 and results[0][0].rejects


def test_a_file_the_second_process_cannot_read_is_refused_whole(
        empty_register: Engine, fresh_settings: Settings, tmp_path: Path) -> None:
    before = _indexes(empty_register)
    path = tmp_path / "people.csv"
    path.write_bytes(_csv(_tricky_rows()) + b"9990000018,Ann," + b"x" * 200_000 + b"\n")
    with pytest.raises(NotAFile, match="field larger than field limit"):
        run_import(path, settings=fresh_settings, show_progress=False, parallel=True)
    assert _indexes(empty_register) == before
    with Session(empty_register) as session:
        assert repository.count_patients(session) == 0


def test_a_patient_seen_again_in_a_later_batch_is_merged_not_duplicated(
        empty_register: Engine, fresh_settings: Settings, tmp_path: Path) -> None:
    numbers = synthetic_nhs_numbers(2000)
    people = [make_patient(next(numbers)) for _ in range(5200)]  # more than one batch
    moved = dataclasses.replace(
        people[0], addresses=(Address("7 Later Road", "", "York", "YO1 7AA",
                                      dt.date(2021, 3, 1)),))
    path = tmp_path / "people.csv"
    rows = [row for record in [*people, moved] for row in record_to_rows(record)]
    path.write_bytes(_csv(rows))
    report = run_import(path, settings=fresh_settings, show_progress=False)
    assert (report.created, report.updated, report.rejects) == (5200, 1, [])
    with Session(empty_register) as session:
        record = repository.load_records(session, [moved.nhs_number])[moved.nhs_number]
        assert repository.count_patients(session) == 5200
    assert [a.postcode for a in record.addresses] == ["LS6 2AB", "BD7 1QA", "YO1 7AA"]
