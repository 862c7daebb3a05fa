"""``/api/signatories`` over HTTP: administrators manage every register, a requesting
officer reads only their own organisation's, nobody else sees any."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from caldicott.access.service import create_token
from caldicott.db import unit_of_work
from caldicott.service.app import create_app
from caldicott.settings import Settings
from tests.integration.access.factories import make_org, make_user

from .helpers import ledger_entries_about, number

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@pytest.fixture()
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app: FastAPI = create_app(settings)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def _caller(engine: Engine, role: str, kind: str) -> tuple[dict[str, str], str]:
    """A committed user with ``role`` in a new organisation of ``kind``: (headers, org code)."""
    with unit_of_work(engine) as session:
        user = make_user(session, role, org=make_org(session, kind))
        token = create_token(session, user.email).token
        return {"Authorization": f"Bearer {token}"}, user.organisation.code


def _new_requester_org(engine: Engine) -> str:
    with unit_of_work(engine) as session:
        return make_org(session, "home_office").code


def _body(org: str, **overrides: Any) -> dict[str, Any]:
    return {"organisation": org, "full_name": "Synthetic Officer", "rank": "chief immigration "
            "officer", "staff_number": number(), "may_countersign": True,
            "valid_from": "2018-01-01", **overrides}


def test_an_administrator_adds_a_signatory_and_it_is_one_ledger_entry(
        client: TestClient, engine: Engine) -> None:
    admin, admin_org = _caller(engine, "administrator", "nhs_digital")
    org = _new_requester_org(engine)
    response = client.post("/api/signatories", json=_body(org), headers=admin)
    assert response.status_code == 201, response.text
    added = response.json()
    assert (added["organisation"], added["rank"], added["role_title"], added["valid_to"]) == (
        org, "HEO", "chief immigration officer", None)
    with unit_of_work(engine) as session:
        entries = ledger_entries_about(session, f"signatory/{added['id']}")
    assert [(e["type"], e["agent"]["organisation"]) for e in entries] == [
        ("signatory-added", admin_org)]


def test_an_administrator_ends_a_signatory(client: TestClient, engine: Engine) -> None:
    admin, _ = _caller(engine, "administrator", "nhs_digital")
    added = client.post("/api/signatories", json=_body(_new_requester_org(engine)),
                        headers=admin).json()
    ended = client.post(f"/api/signatories/{added['id']}/end", json={"on": "2018-05-08"},
                        headers=admin)
    assert ended.status_code == 200, ended.text
    assert ended.json()["valid_to"] == "2018-05-08"
    again = client.post(f"/api/signatories/{added['id']}/end", json={"on": "2018-05-08"},
                        headers=admin)
    assert again.status_code == 409
    assert "already ended on 2018-05-08" in again.json()["issue"][0]["diagnostics"]


def test_a_requesting_officer_reads_only_their_own_organisations_register(
        client: TestClient, engine: Engine) -> None:
    admin, _ = _caller(engine, "administrator", "nhs_digital")
    officer, own = _caller(engine, "requesting_officer", "home_office")
    other = _new_requester_org(engine)
    for org in (own, other):
        assert client.post("/api/signatories", json=_body(org), headers=admin).status_code == 201
    listed = client.get("/api/signatories", headers=officer)
    assert listed.status_code == 200
    assert {row["organisation"] for row in listed.json()} == {own}
    for code in (other, "NOSUCHORG"):  # the same refusal whether or not the code exists
        refused = client.get("/api/signatories", params={"org": code}, headers=officer)
        assert refused.status_code == 403
        assert refused.json()["issue"][0]["diagnostics"] == (
            f"you can see only {own}'s register")
    assert client.get("/api/signatories", params={"org": other},
                      headers=admin).json()[0]["organisation"] == other


def test_a_requesting_officer_cannot_add_to_the_register(client: TestClient,
                                                         engine: Engine) -> None:
    officer, own = _caller(engine, "requesting_officer", "home_office")
    response = client.post("/api/signatories", json=_body(own), headers=officer)
    assert response.status_code == 403
    assert "manage_users is not allowed" in response.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("role,kind", [("tracer", "nhs_digital"), ("auditor", "home_office")])
def test_other_roles_do_not_see_the_register(client: TestClient, engine: Engine, role: str,
                                             kind: str) -> None:
    caller, _ = _caller(engine, role, kind)
    assert client.get("/api/signatories", headers=caller).status_code == 403


def test_the_register_needs_a_token(client: TestClient) -> None:
    assert client.get("/api/signatories").status_code == 401


def test_bad_input_is_a_clear_4xx(client: TestClient, engine: Engine) -> None:
    admin, _ = _caller(engine, "administrator", "nhs_digital")
    org = _new_requester_org(engine)
    cases = {
        "sergeant": (_body(org, rank="sergeant"), 400, "unknown rank 'sergeant' for "
                     "home_office; home_office ranks: AO < EO"),
        "dates": (_body(org, valid_to="2017-01-01"), 400, "is before valid from"),
        "org": (_body("NOSUCHORG"), 404, "unknown organisation 'NOSUCHORG'"),
        "not a date": (_body(org, valid_from="soon"), 422, "valid_from"),
        "extra field": (_body(org, nhs_number="9990000018"), 422, "nhs_number"),
        # A NUL in any JSON text is refused for every route before it is read (422).
        "control": (_body(org, full_name="A\x00B"), 422, "a NUL character"),
    }
    for name, (body, status, words) in cases.items():
        response = client.post("/api/signatories", json=body, headers=admin)
        assert response.status_code == status, name
        assert words in response.json()["issue"][0]["diagnostics"], name
    duplicate = _body(org)
    assert client.post("/api/signatories", json=duplicate, headers=admin).status_code == 201
    assert client.post("/api/signatories", json=duplicate, headers=admin).status_code == 409
    assert client.post("/api/signatories/2147483647/end", json={"on": "2018-01-01"},
                       headers=admin).status_code == 404


def test_the_signatory_api_never_fails_or_breaks_its_schema(client: TestClient,
                                                            engine: Engine) -> None:
    admin, _ = _caller(engine, "administrator", "nhs_digital")
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in
                  schema.include(path_regex="^/api/signatories").get_all_operations()]
    assert len(operations) == 3
    checks = (not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance)
    calls: list[int] = []
    for operation in operations:
        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=25, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(HealthCheck))
        def exercise(case: Any) -> None:
            case.headers = {**(case.headers or {}), **admin}
            response = case.call()
            calls.append(response.status_code)
            case.validate_response(response, checks=checks)

        exercise()
    assert calls and not [code for code in calls if code >= 500]
