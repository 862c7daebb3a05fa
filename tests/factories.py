"""Factories for synthetic test people: NHS numbers from the 999 test range only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import nhs_number

from caldicott.register.records import Address, GPPractice, PatientRecord, PreviousName


def synthetic_nhs_numbers(start: int = 0) -> Iterator[str]:
    """Valid test-range NHS numbers (999…), in order."""
    serial = start
    while True:
        stem = f"999{serial:06d}"
        check = nhs_number.calculate_checksum(stem)
        serial += 1
        if check is not None and check < 10:
            yield f"{stem}{check}"


def make_patient(nhs: str, **overrides: object) -> PatientRecord:
    """A synthetic patient with two addresses, a previous name and a GP."""
    fields: dict[str, object] = {
        "nhs_number": nhs,
        "given_name": "Amara",
        "family_name": "Okafor-Testperson",
        "birth_date": dt.date(1984, 3, 14),
        "sex": "female",
        "addresses": (
            Address("12 Test Street", "", "Leeds", "LS6 2AB", dt.date(2005, 1, 1),
                    dt.date(2016, 5, 31)),
            Address("4 Sample Road", "Flat 2", "Bradford", "BD7 1QA", dt.date(2016, 6, 1)),
        ),
        "previous_names": (PreviousName("Amara", "Testmaiden"),),
        "gp": GPPractice("B86001", "Sample Lane Surgery", "1 Sample Lane, Leeds LS6 1AA"),
        "primary_care_area": "Q12",
        "registered_on": dt.date(2005, 1, 10),
    }
    fields.update(overrides)
    return PatientRecord(**fields)  # type: ignore[arg-type]
