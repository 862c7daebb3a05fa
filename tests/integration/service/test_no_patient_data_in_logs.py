"""No patient data in logs: neither SQL parameters nor query strings nor error text.

Drives the API with a synthetic person's name, date of birth, postcode and NHS
number, in the test process (every log record pytest captures, SQLAlchemy's
statement log switched on) and through a real ``caldicott serve`` (everything it
writes to standard output and standard error), and looks for each of them.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from caldicott.register.records import PatientRecord
from caldicott.requests.scenario import _ask, last_postcode
from tests.integration.requests.conftest import Lifecycle
from tests.integration.service.serving import Served


def _details(person: PatientRecord) -> list[str]:
    postcode = last_postcode(person) or ""
    born = person.birth_date
    return [person.given_name, person.family_name, born.isoformat(), born.strftime("%d/%m/%Y"),
            postcode, postcode.replace(" ", ""), person.nhs_number,
            f"{person.nhs_number[:3]} {person.nhs_number[3:6]} {person.nhs_number[6:]}"]


def _drive(client: TestClient | httpx.Client, person: PatientRecord,
           auth: Any) -> None:
    """Every kind of call that carries the person: search, submit, read, refusals."""
    postcode = last_postcode(person)
    query = {"family": person.family_name, "given": person.given_name,
             "birthdate": f"eq{person.birth_date.isoformat()}",
             "address-postalcode": postcode or "", "_fuzzy-match": "true"}
    searching = {**auth("tracer"), "X-Caldicott-Reason": "data-quality"}
    assert client.get("/fhir/Patient", params=query, headers=searching).status_code == 200
    assert client.get("/fhir/Patient", params=query | {"gender": person.nhs_number},
                      headers=searching).status_code == 400
    body = _ask(person, dt.date(2017, 8, 3), "overstayer", postcode,
                case_reference="LOG-1")
    submitted = client.post("/api/trace-requests", json=body, headers=auth("officer"))
    assert submitted.status_code in (200, 201), submitted.text
    client.get(f"/api/trace-requests/{submitted.json()['id']}", headers=auth("officer"))
    bad = client.post("/api/trace-requests", json={**body, "birth_date": "1990-02-30",
                                                   "custodial_sentence_months": -1},
                      headers=auth("officer"))
    assert bad.status_code == 422
    client.post("/api/trace-requests/batch", json={"requests": [body, {**body, "sex": "x"}]},
                headers=auth("officer"))
    client.get("/fhir/Patient", params=query, headers={"Authorization": "Bearer cald_nope"})


def test_no_log_record_in_the_process_holds_a_patients_details(
        lifecycle: Lifecycle, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # The level an operator turns on to see SQL: statements, with parameters unless hidden.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    person = lifecycle.world.people.offender
    _drive(lifecycle.client, person, lifecycle.auth)
    # Every record but the test's own HTTP client's (it logs the URLs it asks for).
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(caplog.handler.format(r) for r in server_side)
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)
    assert "SQL parameters hidden" in logged
    assert "/fhir/Patient" in logged and "GET /fhir/Patient?" not in logged  # the access log
    for detail in _details(person):
        assert detail not in logged, detail


def test_a_served_caldicott_writes_no_patients_details_to_its_output(served: Served) -> None:
    person = served.world.people.offender
    with httpx.Client(base_url=served.url, timeout=30) as client:
        _drive(client, person, served.auth)
    output = served.stop()
    assert '"GET /fhir/Patient"' in output and '"POST /api/trace-requests"' in output
    for detail in _details(person):
        assert detail not in output, detail
