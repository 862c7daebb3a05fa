"""One synthetic register shared by the synth tests (generating it takes a second or two)."""

from __future__ import annotations

import pytest

from caldicott.register.records import PatientRecord
from caldicott.synth import Query, generate_people, generate_queries


@pytest.fixture(scope="package")
def register() -> list[PatientRecord]:
    return list(generate_people(20_000, seed=7))


@pytest.fixture(scope="package")
def queries(register: list[PatientRecord]) -> list[Query]:
    return list(generate_queries(register, 4_000, seed=11))
