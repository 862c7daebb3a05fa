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

from ..access.factories import make_org, make_user, recent_ledger_events
from .factories import (
    fill_register,
    import_one_name_people,
    one_name_people,
    register_people,
    special_people,
)

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

SPECIAL = special_people()
ONE_NAME = one_name_people()


@pytest.fixture(scope="module")
def populated(engine: Engine) -> Iterator[str]:
    """A committed register, index and model, and a tracer's token; removed afterwards."""
    people = register_people(120, seed=78)
    with unit_of_work(engine) as session:
        people += import_one_name_people(session).values()
        fill_register(session, people[:-2])
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


def test_fhirs_standard_count_limits_a_search_as_max_results_does(client: TestClient) -> None:
    both = client.get("/fhir/Patient?family=Brannigan&birthdate=eq1990-05-05&_count=2").json()
    assert both["total"] == 2
    too_many = client.get("/fhir/Patient?family=Brannigan&birthdate=eq1990-05-05&_count=1")
    assert too_many.status_code == 200
    outcome = too_many.json()["entry"][0]["resource"]
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "TOO_MANY_MATCHES"
    agreeing = client.get("/fhir/Patient?family=Brannigan&birthdate=eq1990-05-05"
                          "&_count=2&_max-results=2")
    assert agreeing.json()["total"] == 2


def test_the_search_bundle_links_to_itself_without_the_searched_details(
        client: TestClient) -> None:
    for limit in ("2", "1"):  # a list of people, and the too-many-matches outcome
        body = _search(client, family="Brannigan", birthdate="eq1990-05-05",
                       _max_results=limit).json()
        assert body["link"] == [{"relation": "self",
                                 "url": "http://testserver/fhir/Patient"}], limit


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


def test_a_search_by_family_name_and_birth_date_finds_a_person_with_one_name(
        client: TestClient) -> None:
    body = _search(client, family="Thandiwekazi", birthdate="eq1979-08-14").json()
    found = {e["resource"]["id"]: e for e in body["entry"]}
    assert set(found) == {p.nhs_number for p in ONE_NAME.values()}
    one_name = found[ONE_NAME["thandiwekazi"].nhs_number]
    assert one_name["resource"]["name"] == [{"use": "usual", "family": "Thandiwekazi"}]
    assert one_name["search"]["score"] == 1.0


def test_a_fuzzy_search_finds_a_person_with_one_name_by_what_they_have(
        client: TestClient) -> None:
    body = _search(client, family="Thandiwekazi", birthdate="1979-08-14", gender="female",
                   address_postalcode="LS6 2QT", _fuzzy_match="true").json()
    assert body["entry"][0]["resource"]["id"] == ONE_NAME["thandiwekazi"].nhs_number
    assert body["entry"][0]["search"]["score"] == 1.0


def test_a_search_naming_a_given_name_never_scores_one_against_a_person_without_one(
        client: TestClient) -> None:
    params = {"given": "Nomvula", "family": "Thandiwekazi", "birthdate": "1979-08-14",
              "gender": "female", "address_postalcode": "LS6 2QT", "_fuzzy_match": "true"}
    body = _search(client, **params).json()
    assert body["entry"][0]["resource"]["id"] == ONE_NAME["thandiwekazi"].nhs_number
    assert 0.5 <= body["entry"][0]["search"]["score"] < 1.0
    assert _search(client, **params, _exact_match="true").json()["total"] == 0


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
    ("family=Lee&birthdate=eq1990-01-01&_count=0", "INVALID_VALUE", "_count must be"),
    ("family=Lee&birthdate=eq1990-01-01&_count=51", "INVALID_VALUE", "_count must be"),
    ("family=Lee&birthdate=eq1990-01-01&_count=5&_max-results=6", "INVALID_SEARCH_DATA",
     "disagree"),
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


@pytest.mark.parametrize(("name", "value"), [
    ("family", "Quill\x00feather"), ("given", "Zan\x00the"), ("address-postalcode", "B1\x002CD"),
    ("birthdate", "eq1984-03-12\x00"), ("gender", "female\x00"), ("_max-results", "5\x00")])
def test_a_nul_byte_in_a_search_parameter_is_a_400_and_the_client_carries_on(
        client: TestClient, name: str, value: str) -> None:
    params = {"family": "Quillfeather", "birthdate": "eq1984-03-12", name: value}
    for fuzzy in ("false", "true"):
        params |= {"given": params.get("given", "Zanthe"), "_fuzzy-match": fuzzy}
        response = client.get("/fhir/Patient", params=params)
        assert response.status_code == 400, (fuzzy, response.text)
        assert response.json()["resourceType"] == "OperationOutcome"
    after = _search(client, family="Quillfeather", birthdate="eq1984-03-12")
    assert after.status_code == 200 and after.json()["total"] == 1


@pytest.mark.parametrize(("given", "family"), [
    ("\N{GRINNING FACE}", "Quillfeather"), ("Zanthe", "\N{GRINNING FACE}"),
    ("Zanthe", "--"), ("\N{GRINNING FACE}", "\N{GRINNING FACE}")])
def test_a_fuzzy_search_with_a_name_of_no_letters_never_scores_one(
        client: TestClient, given: str, family: str) -> None:
    response = _search(client, given=given, family=family, birthdate="1984-03-12",
                       _fuzzy_match="true")
    scores = [e["search"]["score"] for e in response.json().get("entry", [])]
    assert 1.0 not in scores
    assert response.status_code == 400, response.text
    assert "no letters to compare" in response.json()["issue"][0]["diagnostics"]


# --- reads are audited (issue 18 item 4) ------------------------------------------------


def _tracer_id(client: TestClient) -> int:
    return int(client.get("/api/me").json()["user"]["id"])


def test_a_search_leaves_a_ledger_entry_naming_the_searcher_and_every_patient_returned(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    from caldicott.db import unit_of_work
    from caldicott.ledger.person import entries_about

    response = _search(client, family="Brannigan", birthdate="eq1990-05-05")
    returned = [e["resource"]["id"] for e in response.json()["entry"]]
    assert len(returned) == 2
    entry = [e for e in recent_ledger_events(engine, settings, 20)
             if e["type"] == "register-search"][-1]
    assert entry["action"] == "R"
    assert entry["agent"]["who"] == f"user/{_tracer_id(client)}"
    assert entry["agent"]["role"] == "tracer"
    assert entry["purposeOfEvent"] == "data-quality"
    # The public leaf holds a commitment per patient; the private keyed index finds them.
    assert len(entry["entity"]["subjects"]) == len(returned)
    assert all(set(s) == {"commitment_sha256"} for s in entry["entity"]["subjects"])
    assert not [n for n in returned if n in str(entry)]
    with unit_of_work(engine) as session:
        for nhs_number in returned:
            about = entries_about(session, settings, nhs_number)
            assert "register-search" in {e.type for e in about}


def test_a_search_without_a_reason_is_refused(app: FastAPI, populated: str) -> None:
    with TestClient(app, headers={"Authorization": f"Bearer {populated}"}) as bare:
        response = bare.get("/fhir/Patient", params={"family": "Brannigan",
                                                     "birthdate": "eq1990-05-05"})
    assert response.status_code == 400
    assert "needs a reason" in response.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("reason", ["because I wanted to", "9434765919", "note/B1 2CD",
                                    "trace-request/abc", "x" * 101])
def test_a_reason_is_a_short_code_never_free_text_or_an_identifier(
    client: TestClient, reason: str
) -> None:
    response = client.get("/fhir/Patient", params={"family": "Brannigan",
                                                   "birthdate": "eq1990-05-05"},
                          headers={"X-Caldicott-Reason": reason})
    assert response.status_code == 400, response.text


def test_a_search_naming_a_request_needs_one_the_tracer_may_see(client: TestClient) -> None:
    response = client.get("/fhir/Patient", params={"family": "Brannigan",
                                                   "birthdate": "eq1990-05-05"},
                          headers={"X-Caldicott-Reason": "trace-request/999999"})
    assert response.status_code == 404


def test_a_burst_of_searches_is_slowed_and_flagged(
    settings: Settings, engine: Engine, populated: str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    paced = create_app(settings.model_copy(update={"register_searches_per_minute": 3}))
    headers = {"Authorization": f"Bearer {populated}", "X-Caldicott-Reason": "data-quality"}
    query = {"family": "Brannigan", "birthdate": "eq1990-05-05"}
    try:
        with TestClient(paced, headers=headers) as burst, \
                caplog.at_level(logging.WARNING, logger="caldicott.access"):
            statuses = [burst.get("/fhir/Patient", params=query).status_code for _ in range(5)]
            slowed = burst.get("/fhir/Patient", params=query)
            user_id = _tracer_id(burst)
    finally:
        paced.state.engine.dispose()
    assert statuses == [200, 200, 200, 429, 429]
    assert int(slowed.headers["retry-after"]) >= 1
    flagged = [e for e in recent_ledger_events(engine, settings, 30)
               if e["type"] == "register-search-flagged"
               and e["agent"]["who"] == f"user/{user_id}"]
    assert len(flagged) == 1 and flagged[0]["entity"]["subjects"] == []
    lines = [r.getMessage() for r in caplog.records if "flagged" in r.getMessage()]
    assert len(lines) == 1 and "Brannigan" not in lines[0]
