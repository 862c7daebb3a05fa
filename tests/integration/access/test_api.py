"""``GET /api/me`` and the access dependencies over HTTP, against the migrated database."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import Engine, func, select, update

from caldicott.access.core import Principal, Role
from caldicott.access.core.tokens import generate_token
from caldicott.access.deps import CurrentUser, require_role, require_same_org
from caldicott.access.models import ApiTokenRow
from caldicott.access.service import create_token, revoke_token
from caldicott.db import unit_of_work, utcnow
from caldicott.service.app import create_app
from caldicott.service.deps import SessionDep
from caldicott.settings import Settings

from .factories import make_org, make_user

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its test client and warns when it falls back to
    # httpx (installed here). Drop this once httpx2 is a test dependency.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

# A route of the kind later issues add, to drive require_role / require_same_org over HTTP.
probe = APIRouter(prefix="/test-probe")


@probe.get("/reviewers-only")
def reviewers_only(
    principal: Annotated[Principal, Depends(require_role(Role.REVIEWER))],
) -> dict[str, str]:
    return {"email": principal.email}


@probe.get("/organisations/{organisation_id}")
def own_organisation_only(principal: CurrentUser, organisation_id: int) -> dict[str, int]:
    require_same_org(principal, organisation_id)
    return {"organisation_id": organisation_id}


@probe.get("/own-transaction")
def route_with_its_own_transaction(principal: CurrentUser, session: SessionDep) -> dict[str, int]:
    # The pattern every later route follows: authenticate, then own the transaction.
    with session.begin():
        count = session.scalar(select(func.count()).select_from(ApiTokenRow)) or 0
    return {"user_id": principal.user_id, "tokens": count}


@pytest.fixture()
def app(settings: Settings, engine: Engine) -> Iterator[FastAPI]:
    app = create_app(settings)
    app.include_router(probe)
    yield app
    app.state.engine.dispose()


@pytest.fixture()
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _token(engine: Engine, *roles: str, kind: str = "nhs_digital", **kwargs: Any) -> tuple[
    str, int, int
]:
    """A committed user with ``roles`` and a token: (token, token id, organisation id)."""
    with unit_of_work(engine) as session:
        user = make_user(session, *roles, org=make_org(session, kind))
        issued = create_token(session, user.email, **kwargs)
        return issued.token, issued.id, user.organisation_id


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _assert_unauthenticated(response: Any, diagnostics: str) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.headers["www-authenticate"].startswith('Bearer realm="caldicott"')
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "login"
    assert diagnostics in outcome["issue"][0]["diagnostics"]


def test_me_says_who_the_caller_is(client: TestClient, engine: Engine) -> None:
    token, token_id, organisation_id = _token(engine, "tracer", "reviewer")
    response = client.get("/api/me", headers=_bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"].endswith("@example.org")
    assert body["organisation"]["id"] == organisation_id
    assert body["organisation"]["kind"] == "nhs_digital"
    assert body["roles"] == ["reviewer", "tracer"]
    assert body["permissions"]["run_trace"] == "any"
    assert "submit_request" not in body["permissions"]
    assert body["token_id"] == token_id


def test_requesting_officer_is_told_their_reach_is_their_own_organisation(
    client: TestClient, engine: Engine
) -> None:
    token, _, _ = _token(engine, "requesting_officer", kind="home_office")
    permissions = client.get("/api/me", headers=_bearer(token)).json()["permissions"]
    assert permissions["submit_request"] == "own_org"
    assert "search_register" not in permissions


def test_me_without_a_token_is_401_with_a_challenge(client: TestClient) -> None:
    response = client.get("/api/me")
    _assert_unauthenticated(response, "authentication required")
    assert response.headers["www-authenticate"] == 'Bearer realm="caldicott"'


def test_me_with_another_scheme_is_401(client: TestClient) -> None:
    response = client.get("/api/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    _assert_unauthenticated(response, "authentication required")


@pytest.mark.parametrize("token", ["cald_made_up", generate_token()], ids=["malformed", "unknown"])
def test_me_with_a_bad_token_is_401(client: TestClient, token: str) -> None:
    response = client.get("/api/me", headers=_bearer(token))
    _assert_unauthenticated(response, "authentication required")


def test_me_with_a_revoked_token_is_401(client: TestClient, engine: Engine) -> None:
    token, token_id, _ = _token(engine, "auditor")
    assert client.get("/api/me", headers=_bearer(token)).status_code == 200
    with unit_of_work(engine) as session:
        revoke_token(session, str(token_id))
    _assert_unauthenticated(client.get("/api/me", headers=_bearer(token)),
                            "authentication required")


def test_me_with_an_expired_token_is_401(client: TestClient, engine: Engine) -> None:
    token, _, _ = _token(engine, "auditor", days=1, now=utcnow() - dt.timedelta(days=3))
    _assert_unauthenticated(client.get("/api/me", headers=_bearer(token)),
                            "authentication required")


def test_using_a_token_records_when(client: TestClient, engine: Engine) -> None:
    token, token_id, _ = _token(engine, "auditor")
    before = utcnow()
    client.get("/api/me", headers=_bearer(token))
    with unit_of_work(engine) as session:
        last_used = session.scalars(select(ApiTokenRow.last_used_at)
                                    .where(ApiTokenRow.id == token_id)).one()
    assert last_used is not None and last_used >= before - dt.timedelta(seconds=1)


def test_require_role_refuses_other_roles_with_403(client: TestClient, engine: Engine) -> None:
    token, _, _ = _token(engine, "tracer")
    response = client.get("/test-probe/reviewers-only", headers=_bearer(token))
    assert response.status_code == 403
    outcome = response.json()
    assert outcome["issue"][0]["code"] == "forbidden"
    assert "needs the role reviewer" in outcome["issue"][0]["diagnostics"]


def test_require_role_lets_the_role_through(client: TestClient, engine: Engine) -> None:
    token, _, _ = _token(engine, "reviewer")
    assert client.get("/test-probe/reviewers-only", headers=_bearer(token)).status_code == 200


def test_require_same_org_refuses_another_organisations_data(
    client: TestClient, engine: Engine
) -> None:
    token, _, organisation_id = _token(engine, "requesting_officer", kind="home_office")
    own = client.get(f"/test-probe/organisations/{organisation_id}", headers=_bearer(token))
    other = client.get(f"/test-probe/organisations/{organisation_id + 1000}",
                       headers=_bearer(token))
    assert own.status_code == 200
    assert other.status_code == 403
    assert "another organisation" in other.json()["issue"][0]["diagnostics"]


def test_a_route_can_open_its_own_transaction_after_authentication(
    client: TestClient, engine: Engine
) -> None:
    token, _, _ = _token(engine, "auditor")
    for _ in range(2):  # the second call takes the path where last use is already recorded
        response = client.get("/test-probe/own-transaction", headers=_bearer(token))
        assert response.status_code == 200, response.text
        assert response.json()["tokens"] >= 1


def test_openapi_documents_the_bearer_scheme(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["ApiToken"]["scheme"] == "bearer"
    assert document["paths"]["/api/me"]["get"]["security"] == [{"ApiToken": []}]


def test_expiring_a_token_in_the_database_takes_effect_at_once(
    client: TestClient, engine: Engine
) -> None:
    token, token_id, _ = _token(engine, "tracer")
    with unit_of_work(engine) as session:
        session.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id)
                        .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    _assert_unauthenticated(client.get("/api/me", headers=_bearer(token)),
                            "authentication required")
