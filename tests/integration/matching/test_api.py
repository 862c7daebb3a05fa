"""``GET /fhir/Patient`` over HTTP, with data committed (the app has its own sessions)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, delete

from caldicott.access.service import create_token
from caldicott.db import unit_of_work
from caldicott.matching.models import MatchIndexRow, MatchingModelRow
from caldicott.register.models import PatientRow
from caldicott.service.app import create_app
from caldicott.settings import Settings

from ..access.factories import make_org, make_user
from .factories import fill_register, register_people, special_people

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

SPECIAL = special_people()


@pytest.fixture(scope="module")
def populated(engine: Engine) -> Iterator[str]:
    """A committed register, index and model, and a tracer's token; removed afterwards."""
    people = register_people(120, seed=78)
    with unit_of_work(engine) as session:
        fill_register(session, people)
        user = make_user(session, "tracer", org=make_org(session))
        token = create_token(session, user.email).token
    yield token
    with unit_of_work(engine) as session:
        session.execute(delete(MatchIndexRow))
        session.execute(delete(MatchingModelRow))
        session.execute(delete(PatientRow).where(
            PatientRow.nhs_number.in_([p.nhs_number for p in people])))


@pytest.fixture(scope="module")
def app(settings: Settings, populated: str) -> Iterator[FastAPI]:
    # One app (one engine, one pool) for the module: an engine per test leaves
    # connections for the garbage collector to close, which warns.
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def client(app: FastAPI, populated: str) -> Iterator[TestClient]:
    with TestClient(app, headers={"Authorization": f"Bearer {populated}",
                                  "X-Caldicott-Reason": "data-quality"}) as client:
        yield client


def _search(client: TestClient, **params: Any) -> Any:
    query = {k.replace("_", "-") if not k.startswith("_") else "_" + k[1:].replace("_", "-"): v
             for k, v in params.items()}
    return client.get("/fhir/Patient", params=query)


def test_finds_a_patient_with_an_exact_score(client: TestClient) -> None:
    response = _search(client, family="Quillfeather", birthdate="eq1984-03-12")
    assert response.status_code == 200
    body = response.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    assert body["total"] == 1
    entry = body["entry"][0]
    assert entry["search"]["score"] == 1.0
    assert entry["resource"]["id"] == SPECIAL["zanthe"].nhs_number


def test_a_fuzzy_search_finds_a_misspelt_name_best_first(client: TestClient) -> None:
    response = _search(client, given="Zanthe", family="Quilfeather", birthdate="1984-03-12",
                       _fuzzy_match="true")
    body = response.json()
    assert body["entry"][0]["resource"]["id"] == SPECIAL["zanthe"].nhs_number
    scores = [e["search"]["score"] for e in body["entry"]]
    assert 0.5 <= scores[0] < 1.0 and scores == sorted(scores, reverse=True)
    assert response.headers["x-caldicott-model-version"]


def test_the_response_is_a_valid_fhir_bundle(client: TestClient) -> None:
    from fhir.resources.R4B.bundle import Bundle

    body = _search(client, family="Brannigan", birthdate="eq1990-05-05").json()
    assert Bundle.model_validate(body).total == 2


def test_too_many_matches_is_reported_as_pds_reports_it(client: TestClient) -> None:
    response = _search(client, family="Brannigan", birthdate="eq1990-05-05", _max_results="1")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 0
    outcome = body["entry"][0]["resource"]
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "TOO_MANY_MATCHES"


def test_a_restricted_patients_address_and_gp_are_never_returned(client: TestClient) -> None:
    body = _search(client, family="Vantablack", birthdate="eq1975-07-07").json()
    patient = body["entry"][0]["resource"]
    assert patient["meta"]["security"][0]["code"] == "R"
    for field in ("address", "generalPractitioner", "telecom", "contact", "contained"):
        assert field not in patient


def test_a_search_by_postcode_never_returns_a_restricted_patient(client: TestClient) -> None:
    for fuzzy in ("false", "true"):
        body = _search(client, given="Esme", family="Vantablack", birthdate="eq1975-07-07",
                       address_postalcode="B1 2CD", gender="female", _fuzzy_match=fuzzy).json()
        assert body["total"] == 0, fuzzy


def test_exact_match_only_returns_scores_of_one(client: TestClient) -> None:
    body = _search(client, given="Zanthe", family="Quilfeather", birthdate="1984-03-12",
                   _fuzzy_match="true", _exact_match="true").json()
    assert body["total"] == 0


def test_a_search_needs_a_token(app: FastAPI) -> None:
    with TestClient(app) as anonymous:
        assert anonymous.get("/fhir/Patient?family=Lee&birthdate=eq1990-01-01"
                             ).status_code == 401


BAD_SEARCHES = [
    ("family=&birthdate=eq1990-01-01", "MISSING_VALUE", "family is empty"),
    ("family=Lee&birthdate=eq2999-01-01", "INVALID_VALUE", "in the future"),
    ("family=Lee&birthdate=gt1990", "INVALID_VALUE", "must be eqYYYY-MM-DD"),
    ("family=Lee&birthdate=eq1990-01-01&_max-results=0", "INVALID_VALUE", "from 1 to 50"),
    ("family=Lee&birthdate=eq1990-01-01&_max-results=51", "INVALID_VALUE", "from 1 to 50"),
    ("family=L*&birthdate=eq1990-01-01", "INVALID_VALUE", "at least 2 characters"),
    ("family=*ee&birthdate=eq1990-01-01", "INVALID_VALUE", "at least 2 characters"),
    ("family=Lee&birthdate=eq1990-01-01&shoe-size=9", "ADDITIONAL_PROPERTIES", "shoe-size"),
    ("", "UNSUPPORTED_SERVICE", "needs parameters"),
    ("family=Lee", "INVALID_SEARCH_DATA", "family and birthdate"),
    ("family=Lee&birthdate=eq1990-01-01&gender=m", "INVALID_VALUE", "gender must be"),
    ("family=Lee&birthdate=eq1990-02-30", "INVALID_VALUE", "not a real date"),
    ("family=Lee&birthdate=eq1990-01-01&_fuzzy-match=yes", "INVALID_VALUE", "true or false"),
    ("family=Le*&birthdate=eq1990-01-01&given=Ann&_fuzzy-match=true", "INVALID_SEARCH_DATA",
     "wildcards"),
    ("family=Lee&birthdate=eq1990-01-01&_fuzzy-match=true", "INVALID_SEARCH_DATA",
     "fuzzy search needs"),
]


@pytest.mark.parametrize(("query", "code", "diagnostics"), BAD_SEARCHES)
def test_a_bad_search_gets_a_400_operation_outcome(client: TestClient, query: str, code: str,
                                                   diagnostics: str) -> None:
    response = client.get(f"/fhir/Patient?{query}")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == code
    assert diagnostics in issue["diagnostics"]
