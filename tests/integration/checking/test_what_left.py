"""What left: every body the stand-in Home Office received for 1,000 checks holds only the
agreement's fields: no NHS number, no address or postcode, nothing clinical."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy.orm import Session

from caldicott.checking.connector import HttpStatusChecker
from caldicott.checking.core.answers import Person
from caldicott.checking.flow import run_check, session_transaction
from caldicott.checking.service import CheckForm, Requester
from caldicott.settings import Settings
from caldicott.synth import generate_people
from tests.integration.checking.conftest import Counterparty, SignedOrg

NATIONALITIES = ("Ruritanian", "Freedonian", "Latverian", "Genovian")
PERSON_KEYS = {"given_name", "family_name", "date_of_birth", "nationality"}
TEN_DIGITS = re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")


@pytest.mark.slow
def test_a_thousand_checks_send_only_the_agreements_fields(
        session: Session, settings: Settings, counterparty: Counterparty,
        signed_org: SignedOrg) -> None:
    org = signed_org()
    people = list(generate_people(1000, seed=13))
    conn = HttpStatusChecker(counterparty.url)
    tx = session_transaction(session)
    try:
        for n, p in enumerate(people):
            start = dt.datetime(2017, 6, 1, 9, tzinfo=dt.UTC) + dt.timedelta(minutes=n)
            form = CheckForm(Person(p.given_name, p.family_name, p.birth_date,
                                    NATIONALITIES[n % 4]), nhs_number=p.nhs_number)
            run_check(tx, settings, conn, Requester(org.code, "user/1"), form,
                      as_of=dt.date(2017, 6, 1), call_times=(start, start + dt.timedelta(
                          minutes=8)))
    finally:
        conn.close()
    bodies = counterparty.received()
    assert len(bodies) == 1000
    secrets = _what_must_not_leave(people)
    for body in bodies:
        assert set(body) == {"check", "organisation", "purpose", "person"}
        assert set(body["person"]) == PERSON_KEYS
        assert body["organisation"] == org.code
        assert re.fullmatch(r"[0-9a-f]{32}", body["check"])  # caldicott's own random key
        text = json.dumps({k: v for k, v in body.items() if k != "check"})
        assert not TEN_DIGITS.search(text)
        assert not any(secret in text for secret in secrets), body
    sent = {(b["person"]["given_name"], b["person"]["family_name"],
             b["person"]["date_of_birth"]) for b in bodies}
    assert sent == {(p.given_name, p.family_name, p.birth_date.isoformat()) for p in people}


def _what_must_not_leave(people: list[object]) -> set[str]:
    """Every NHS number, address line, postcode and GP of the people checked."""
    found: set[str] = set()
    for person in people:
        found.add(person.nhs_number)  # type: ignore[attr-defined]
        for address in person.addresses:  # type: ignore[attr-defined]
            found.update(v for v in (address.line1, address.postcode) if v)
        gp = person.gp  # type: ignore[attr-defined]
        if gp is not None:
            found.update({gp.code, gp.name})
    return found
