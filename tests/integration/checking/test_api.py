"""The checking and billing routes: a check (in-memory stand-in, chosen by settings), its
retry, extra fields refused, an unsigned organisation refused, the bills and statement."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from caldicott.access.service import create_token
from caldicott.billing.core.years import financial_year
from caldicott.checking.service import sign_memorandum
from caldicott.db import make_engine, unit_of_work
from caldicott.migrations import upgrade
from caldicott.service.app import create_app
from caldicott.settings import Settings
from tests.factories import synthetic_nhs_numbers
from tests.integration.access.factories import make_org, make_user

BODY = {"given_name": "Amara", "family_name": "Testperson", "birth_date": "1984-03-14",
        "nationality": "Ruritanian"}


@pytest.fixture()
def engine(fresh_settings: Settings) -> Iterator[Engine]:
    """A database of these tests' own: the checks they commit (decisions, usage) must not
    be counted by other tests of the shared database (replays, reports)."""
    engine = make_engine(fresh_settings)
    upgrade(fresh_settings, engine)
    yield engine
    engine.dispose()


@pytest.fixture()
def client(fresh_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(fresh_settings)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def manager(engine: Engine, signed: bool = True) -> tuple[dict[str, str], str]:
    with unit_of_work(engine) as session:
        org = make_org(session, "nhs_trust")
        if signed:
            sign_memorandum(session, org.code, dt.date(2016, 9, 1))
        user = make_user(session, "overseas_visitors_manager", org=org)
        token = create_token(session, user.email).token
    return {"Authorization": f"Bearer {token}"}, org.code


def test_a_check_its_retry_and_the_bill(client: TestClient, engine: Engine) -> None:
    headers, code = manager(engine)
    nhs = next(synthetic_nhs_numbers(9000))
    key = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    first = client.post("/api/status-checks", json={**BODY, "nhs_number": nhs}, headers=key)
    assert first.status_code == 201, first.text
    shown = first.json()
    assert shown["state"] == "answered" and shown["fields_sent"] == [
        "date_of_birth", "name", "nationality"]
    assert shown["disclosed_to_home_office"].startswith(f"{code} asked about this person at ")
    again = client.post("/api/status-checks", json={**BODY, "nhs_number": nhs}, headers=key)
    assert (again.status_code, again.json()["id"]) == (200, shown["id"])
    assert client.get("/api/status-checks", headers=headers).json()["total"] == 1
    year = financial_year(dt.datetime.now(dt.UTC))
    bills = client.get("/api/billing/bills", params={"year": year}, headers=headers).json()
    assert [(b["organisation"], b["calls"]) for b in bills] == [(code, 1)]
    statement = client.get("/api/billing/statement", params={"year": year}, headers=headers)
    assert statement.headers["content-type"].startswith("text/csv")
    assert statement.text.count("call/") == 1
    other = client.get("/api/billing/bills", params={"year": year, "organisation": "X26"},
                       headers=headers)
    assert other.status_code == 403


def test_fields_beyond_the_agreements_are_refused_not_sent(client: TestClient,
                                                           engine: Engine) -> None:
    headers, _ = manager(engine)
    body = {**BODY, "nhs_number": next(synthetic_nhs_numbers(9100)),
            "address": "4 Sample Road", "passport_number": "X1234567"}
    response = client.post("/api/status-checks", json=body, headers=headers)
    assert response.status_code == 422
    assert "address" in response.json()["issue"][0]["diagnostics"]


def test_an_organisation_that_has_not_signed_is_refused(client: TestClient,
                                                         engine: Engine) -> None:
    headers, code = manager(engine, signed=False)
    body = {**BODY, "nhs_number": next(synthetic_nhs_numbers(9200))}
    response = client.post("/api/status-checks", json=body, headers=headers)
    assert response.status_code == 403
    assert response.json()["issue"][0]["diagnostics"] == (
        f"{code} has not signed a memorandum with the Home Office for the checking service; "
        "no check was sent")


def test_a_refusal_is_answered_403_with_its_clause_and_kept(client: TestClient,
                                                           engine: Engine) -> None:
    headers, _ = manager(engine)
    body = {**BODY, "nhs_number": next(synthetic_nhs_numbers(9300)),
            "purpose": "housing_eligibility"}  # a trust checks only for NHS charging
    response = client.post("/api/status-checks", json=body, headers=headers)
    assert response.status_code == 403
    words = response.json()["issue"][0]["diagnostics"]
    assert words.startswith("the checking-service agreement (checking-service-mou, version 1) "
                            "does not allow this check: 1.1: The trust may check")
    kept = client.get("/api/status-checks", headers=headers).json()
    assert kept["total"] == 1
    (item,) = kept["items"]
    assert (item["state"], item["fields_sent"], item["refusal"][0][0]) == ("refused", [], "1.1")
    assert item["disclosed_to_home_office"] == "nothing: the check was not sent"
