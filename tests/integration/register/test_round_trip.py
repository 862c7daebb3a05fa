"""Export then import gives an identical register (a Hypothesis property)."""

from __future__ import annotations

import datetime as dt
import io
from itertools import islice

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.orm import Session

from caldicott.register import repository
from caldicott.register.models import PatientRow
from caldicott.register.records import Address, GPPractice, PatientRecord, PreviousName
from caldicott.register.service import import_observations, write_export
from caldicott.register.sources import csv_observations
from tests.factories import synthetic_nhs_numbers

NHS_NUMBERS = list(islice(synthetic_nhs_numbers(5000), 40))
# A practice is shared by its patients: one name and address per ODS code.
PRACTICES = [GPPractice("B86001", "Sample Lane Surgery", "1 Sample Lane, Leeds"),
             GPPractice("Y02345", "Test Road Medical Centre, Ünit 2", ""),
             GPPractice("W91016", "Meddygfa'r Prawf", "Heol y Prawf, Caerdydd")]
names = st.from_regex(r"[A-Z][a-z]{1,8}([ '-][A-Z][a-z]{1,8})?", fullmatch=True)
text_line = st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs", "P"]),
                    min_size=1, max_size=30).map(str.strip).filter(bool)
postcodes = st.from_regex(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}", fullmatch=True)
dates = st.dates(dt.date(1900, 1, 1), dt.date(2025, 12, 31))


@st.composite
def address_histories(draw: st.DrawFn) -> tuple[Address, ...]:
    starts = sorted(set(draw(st.lists(dates, max_size=4))))
    addresses = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else draw(st.none() | st.just(None))
        addresses.append(Address(draw(text_line), draw(st.just("") | text_line),
                                 draw(st.just("") | text_line), draw(postcodes), start, end))
    return tuple(addresses)


@st.composite
def patients(draw: st.DrawFn, nhs: str) -> PatientRecord:
    birth = draw(dates)
    gp = draw(st.none() | st.sampled_from(PRACTICES))
    return PatientRecord(
        # Some people have one name (no given name), as PDS holds them.
        nhs_number=nhs, given_name=draw(st.just("") | names), family_name=draw(names),
        birth_date=birth,
        sex=draw(st.sampled_from(["male", "female", "other", "unknown"])),
        death_date=draw(st.none() | st.dates(birth, dt.date(2025, 12, 31))),
        addresses=draw(address_histories()),
        previous_names=tuple(draw(st.lists(st.builds(PreviousName, st.just("") | names, names),
                                           max_size=2, unique=True))),
        gp=gp, primary_care_area=draw(st.none() | st.from_regex(r"Q[0-9]{2}", fullmatch=True)),
        registered_on=draw(st.none() | dates), restricted=draw(st.booleans()))


@st.composite
def registers(draw: st.DrawFn) -> list[PatientRecord]:
    chosen = draw(st.lists(st.sampled_from(NHS_NUMBERS), min_size=1, max_size=6, unique=True))
    return [draw(patients(nhs)) for nhs in chosen]


def _export(session: Session) -> str:
    out = io.StringIO()
    write_export(session, "csv", out)
    return out.getvalue()


def _import_text(session: Session, text: str) -> None:
    report = import_observations(session, csv_observations(io.BytesIO(text.encode())))
    assert report.rejects == []


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(register=registers())
def test_export_then_import_gives_an_identical_register(session: Session,
                                                       register: list[PatientRecord]) -> None:
    savepoint = session.begin_nested()
    try:
        repository.save_records(session, register, [], dt.datetime.now(dt.UTC))
        before = list(repository.iter_records(session))
        exported = _export(session)
        session.execute(delete(PatientRow))
        _import_text(session, exported)
        assert list(repository.iter_records(session)) == before
        assert before == sorted(register, key=lambda r: r.nhs_number)
        assert _export(session) == exported
    finally:
        savepoint.rollback()
