"""Synthetic people for matcher tests: generated names, 999-range NHS numbers."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

from sqlalchemy.orm import Session

from caldicott.db import utcnow
from caldicott.matching import repository
from caldicott.matching.core.scorer import model_hash
from caldicott.matching.handmade import handmade_model_json
from caldicott.matching.service import rebuild_index
from caldicott.register.csv_io import write_register_csv
from caldicott.register.records import Address, PatientRecord, PreviousName
from caldicott.register.repository import save_records
from caldicott.register.service import import_observations
from caldicott.register.sources import csv_observations
from caldicott.synth.people import NhsNumbers, generate_people


def _address(postcode: str) -> tuple[Address, ...]:
    return (Address("1 Test Street", "", "Testtown", postcode, dt.date(2015, 1, 1)),)


def special_people() -> dict[str, PatientRecord]:
    """People each test can name: a unique one, two near-identical, a restricted one."""
    numbers = NhsNumbers(seed=424242)
    return {
        "zanthe": PatientRecord(next(numbers), "Zanthe", "Quillfeather", dt.date(1984, 3, 12),
                                "female", addresses=_address("LS1 4AP"),
                                previous_names=(PreviousName("Zanthe", "Hollowmere"),)),
        "orla1": PatientRecord(next(numbers), "Orla", "Brannigan", dt.date(1990, 5, 5),
                               "female", addresses=_address("M1 1AA")),
        "orla2": PatientRecord(next(numbers), "Orla", "Brannigan", dt.date(1990, 5, 5),
                               "female", addresses=_address("M1 1AB")),
        "esme": PatientRecord(next(numbers), "Esme", "Vantablack", dt.date(1975, 7, 7),
                              "female", addresses=_address("B1 2CD"), restricted=True),
    }


def one_name_people() -> dict[str, PatientRecord]:
    """A person with one name (no given name, as PDS holds some people) and a
    namesake: the same family name and date of birth, a given name, elsewhere."""
    numbers = NhsNumbers(seed=535353)
    born = dt.date(1979, 8, 14)
    return {
        "thandiwekazi": PatientRecord(next(numbers), "", "Thandiwekazi", born, "female",
                                      addresses=_address("LS6 2QT")),
        "amara": PatientRecord(next(numbers), "Amara", "Thandiwekazi", born, "female",
                               addresses=_address("BD7 1QA")),
    }


def import_one_name_people(session: Session) -> dict[str, PatientRecord]:
    """Bring :func:`one_name_people` in as a register file would (a CSV import),
    so that a register which refuses one-name people never holds them."""
    people = one_name_people()
    out = io.StringIO()
    write_register_csv(people.values(), out)
    report = import_observations(session, csv_observations(io.BytesIO(out.getvalue().encode())))
    assert report.created == len(people), report.rejects
    return people


def register_people(n: int = 300, seed: int = 77) -> list[PatientRecord]:
    special = special_people()
    taken = {p.nhs_number for p in (*special.values(), *one_name_people().values())}
    crowd = [p for p in generate_people(n, seed=seed) if p.nhs_number not in taken]
    return crowd + list(special.values())


def fill_register(session: Session, people: list[PatientRecord]) -> None:
    """Register, index and a hand-set model, in the caller's transaction."""
    save_records(session, people, [], utcnow())
    rebuild_index(session)
    model = handmade_model_json()
    repository.save_model(session, model_json=model, sha256=model_hash(model), pins=[],
                          link_type="link_only", trained_on="hand-set test model")


def numbers(people: list[PatientRecord]) -> Iterator[str]:
    return (p.nhs_number for p in people)
