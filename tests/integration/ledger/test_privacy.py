"""No personal identifier appears in any leaf (or detail) in the clear."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from faker import Faker
from sqlalchemy import select
from sqlalchemy.orm import Session

from caldicott.ledger import service
from caldicott.ledger.core.events import (
    Agent,
    AuditEvent,
    IdentifierInTheClear,
    Pseudonym,
    pseudonymise,
)
from caldicott.ledger.models import LedgerDetail, LedgerEntry, LedgerQueue
from caldicott.settings import Settings
from tests.factories import synthetic_nhs_numbers

PEOPLE = 40


def _people() -> list[dict[str, str]]:
    fake = Faker("en_GB")
    fake.seed_instance(20261123)
    numbers = synthetic_nhs_numbers(500)
    return [{"nhs_number": next(numbers), "given": fake.first_name(), "family": fake.last_name(),
             "birth_date": fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
             "postcode": fake.postcode()} for _ in range(PEOPLE)]


def _event_about(settings: Settings, person: dict[str, str], number: int) -> AuditEvent:
    secret = settings.secret_key
    subjects = tuple(pseudonymise(secret, kind, person[field]) for kind, field in (
        ("nhs_number", "nhs_number"), ("name", "family"), ("birth_date", "birth_date"),
        ("postcode", "postcode")))
    return AuditEvent(
        type="trace-request", action="E", outcome="refused" if number % 3 else "success",
        recorded=dt.datetime.now(dt.UTC), agent=Agent("user/3", "HO1", "requester"),
        what=f"trace-request/{number}", purpose="immigration-enforcement",
        agreement="HO-NHSD-MoU", agreement_version="3", subjects=subjects,
        details={"reason": "two candidates too close", "candidates": 2})


def _clear_forms(person: dict[str, str]) -> list[bytes]:
    nhs, postcode = person["nhs_number"], person["postcode"]
    born = dt.date.fromisoformat(person["birth_date"])
    forms = [nhs, f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}", person["given"], person["family"],
             born.isoformat(), born.strftime("%d/%m/%Y"), born.strftime("%Y%m%d"),
             postcode, postcode.replace(" ", "")]
    return list(itertools.chain.from_iterable((f.encode(), f.lower().encode(), f.upper().encode())
                                              for f in forms))


def test_no_nhs_number_name_birth_date_or_postcode_appears_in_any_leaf(
        session: Session, settings: Settings) -> None:
    people = _people()
    for number, person in enumerate(people):
        service.append(session, settings, _event_about(settings, person, number))
    stored = [bytes(e) for e in session.scalars(select(LedgerQueue.entry))]  # PostgreSQL's queue
    service.checkpoint(session, settings)  # integrates the queue: every entry is now a leaf
    stored += [bytes(e) for e in session.scalars(select(LedgerEntry.entry))]
    stored += [bytes(b) for b in session.scalars(select(LedgerDetail.body))]
    assert len(stored) >= 2 * PEOPLE + (PEOPLE if session.bind.dialect.name == "postgresql" else 0)
    leaks = [form for person in people for form in _clear_forms(person)
             if len(form) >= 4 and any(form in blob for blob in stored)]
    assert leaks == []


@pytest.mark.parametrize("raw", ["9990001234", "999 000 1236", "LS6 2AB", "ls62ab"])
def test_refuses_an_identifier_in_free_text(raw: str) -> None:
    with pytest.raises(IdentifierInTheClear):
        AuditEvent(type="disclosure", action="R", outcome="success",
                   recorded=dt.datetime.now(dt.UTC), agent=Agent("user/1", "X26"),
                   what="trace-request/1", details={"note": f"patient {raw}"})


def test_refuses_a_raw_identifier_as_a_subject() -> None:
    with pytest.raises(IdentifierInTheClear):
        AuditEvent(type="disclosure", action="R", outcome="success",
                   recorded=dt.datetime.now(dt.UTC), agent=Agent("user/1", "X26"),
                   what="trace-request/1", subjects=("9990001234",))  # type: ignore[arg-type]


def test_a_pseudonym_cannot_hold_a_raw_value() -> None:
    with pytest.raises(IdentifierInTheClear):
        Pseudonym("nhs_number", "9990001234")
