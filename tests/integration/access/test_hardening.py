"""Issue 18 over HTTP: accounts that can be switched off, scoped tokens, reach by
organisation kind, refusals that tell nothing, and authentication that survives a
read-only database and slows down guessers."""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, event, select

from caldicott.access.core.tokens import generate_token
from caldicott.access.models import ApiTokenRow
from caldicott.access.service import (
    create_token,
    remove_role,
    revoke_all_tokens,
    revoke_token,
    set_disabled,
)
from caldicott.db import make_engine, unit_of_work, utcnow
from caldicott.migrations import upgrade
from caldicott.service.app import create_app
from caldicott.settings import Settings

from .factories import make_org, make_user, recent_ledger_events

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@pytest.fixture()
def app(settings: Settings, engine: Engine) -> Iterator[FastAPI]:
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


@pytest.fixture()
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _account(engine: Engine, *roles: str, kind: str = "nhs_digital",
             **token: Any) -> tuple[str, str, int]:
    """A committed user with ``roles``: (email, token, organisation id)."""
    with unit_of_work(engine) as session:
        user = make_user(session, *roles, org=make_org(session, kind))
        return user.email, create_token(session, user.email, **token).token, user.organisation_id


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- every refused token reads the same (item 15) --------------------------------------


def test_every_refused_token_reads_the_same_to_the_caller(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    _, expired, _ = _account(engine, "auditor", days=1, now=utcnow() - dt.timedelta(days=3))
    _, revoked, _ = _account(engine, "auditor")
    disabled_email, disabled, _ = _account(engine, "auditor")
    with unit_of_work(engine) as session:
        revoke_token(session, revoked)
        set_disabled(session, settings, disabled_email, True)
    attempts = {
        "missing": {}, "other scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
        "malformed": _bearer("cald_made_up"),
        "unknown": _bearer(generate_token()),
        "expired": _bearer(expired), "revoked": _bearer(revoked),
        "disabled user": _bearer(disabled),
    }
    seen = {}
    for name, headers in attempts.items():
        response = client.get("/api/me", headers=headers)
        seen[name] = (response.status_code, response.text,
                      response.headers.get("www-authenticate"))
    assert set(seen.values()) == {(401, seen["missing"][1], 'Bearer realm="caldicott"')}, seen
    assert "authentication required" in seen["missing"][1]


def test_a_refused_token_is_logged_with_its_reason_and_never_the_token(
    client: TestClient, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    _, revoked, _ = _account(engine, "auditor")
    with unit_of_work(engine) as session:
        token_id = revoke_token(session, revoked)[0].id
    with caplog.at_level(logging.INFO, logger="caldicott.access"):
        client.get("/api/me", headers=_bearer(revoked))
    lines = [r.getMessage() for r in caplog.records if r.name == "caldicott.access"]
    assert any("revoked" in line and f"token {token_id}" in line for line in lines), lines
    assert not [line for line in lines if revoked in line or revoked[5:20] in line]
    assert client.app.state.access.auth.counts["revoked"] == 1  # type: ignore[attr-defined]


# --- repeated failures are slowed, then refused (item 7) --------------------------------


def test_repeated_authentication_failures_are_slowed_with_429_and_retry_after(
    client: TestClient, engine: Engine
) -> None:
    _, valid, _ = _account(engine, "auditor")
    statuses = [client.get("/api/me", headers=_bearer("cald_" + f"{i:046d}")).status_code
                for i in range(5)]
    assert statuses == [401] * 5
    slowed = client.get("/api/me", headers=_bearer("cald_" + "9" * 46))
    assert slowed.status_code == 429
    assert int(slowed.headers["retry-after"]) >= 1
    assert slowed.json()["issue"][0]["code"] == "throttled"
    # The address is slowed whatever it sends next: no answer to learn from meanwhile.
    assert client.get("/api/me", headers=_bearer(valid)).status_code == 429


def test_at_the_limit_every_attempt_is_refused_until_the_window_passes(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings.model_copy(update={"auth_failure_limit": 3}))
    try:
        with TestClient(app) as client:
            for i in range(3):
                assert client.get("/api/me", headers=_bearer(f"cald_x{i}")).status_code == 401
            refused = client.get("/api/me", headers=_bearer("cald_y"))
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) > 500  # the rest of the 10 minutes
    finally:
        app.state.engine.dispose()


def test_a_missing_token_is_not_counted_as_a_guess(client: TestClient, engine: Engine) -> None:
    _, valid, _ = _account(engine, "auditor")
    for _ in range(10):
        assert client.get("/api/me").status_code == 401
    assert client.get("/api/me", headers=_bearer(valid)).status_code == 200


# --- authentication needs no write (item 11) --------------------------------------------


def _read_only(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _no_writes(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET default_transaction_read_only = on")
        cursor.close()
        if engine.dialect.name != "sqlite":
            dbapi_connection.commit()


def test_a_read_only_database_does_not_stop_authentication(
    fresh_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(fresh_settings)
    upgrade(fresh_settings, engine)
    with unit_of_work(engine) as session:
        user = make_user(session, "auditor", org=make_org(session))
        token = create_token(session, user.email).token
    engine.dispose()
    app = create_app(fresh_settings)
    _read_only(app.state.engine)
    try:
        with caplog.at_level(logging.WARNING, logger="caldicott.access"), TestClient(app) as client:
            response = client.get("/api/me", headers=_bearer(token))
        assert response.status_code == 200, response.text
        assert response.json()["user"]["email"] == user.email
        assert any("could not record the last use" in r.getMessage() for r in caplog.records)
    finally:
        app.state.engine.dispose()


def test_the_last_use_is_still_recorded_after_the_response(
    client: TestClient, engine: Engine
) -> None:
    _, token, _ = _account(engine, "auditor")
    assert client.get("/api/me", headers=_bearer(token)).status_code == 200
    with unit_of_work(engine) as session:
        used = session.scalars(select(ApiTokenRow.last_used_at)
                               .where(ApiTokenRow.display_prefix == token[:11])).all()
    assert used and used[0] is not None


# --- accounts (item 10) ----------------------------------------------------------------


def test_a_disabled_users_tokens_stop_at_once_and_work_again_when_enabled(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    email, token, _ = _account(engine, "tracer")
    assert client.get("/api/me", headers=_bearer(token)).status_code == 200
    with unit_of_work(engine) as session:
        set_disabled(session, settings, email, True)
    assert client.get("/api/me", headers=_bearer(token)).status_code == 401
    with unit_of_work(engine) as session:
        set_disabled(session, settings, email, False)
    assert client.get("/api/me", headers=_bearer(token)).status_code == 200


def test_revoking_all_of_a_users_tokens_stops_every_one(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    email, first, _ = _account(engine, "tracer")
    with unit_of_work(engine) as session:
        second = create_token(session, email).token
    with unit_of_work(engine) as session:
        assert revoke_all_tokens(session, settings, email)[1] == 2
    for token in (first, second):
        assert client.get("/api/me", headers=_bearer(token)).status_code == 401


def test_a_removed_role_is_gone_from_the_next_call(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    email, token, _ = _account(engine, "tracer", "reviewer")
    with unit_of_work(engine) as session:
        remove_role(session, settings, email, "reviewer")
    me = client.get("/api/me", headers=_bearer(token)).json()
    assert me["roles"] == ["tracer"] and "review_release" not in me["permissions"]


def test_each_account_change_is_one_ledger_entry_by_the_operator(
    engine: Engine, settings: Settings
) -> None:
    email, _, _ = _account(engine, "tracer", "reviewer")
    with unit_of_work(engine) as session:
        set_disabled(session, settings, email, True)
        set_disabled(session, settings, email, True)  # no change, no entry
        set_disabled(session, settings, email, False)
        user = remove_role(session, settings, email, "reviewer")
        revoke_all_tokens(session, settings, email)
    mine = [e for e in recent_ledger_events(engine, settings)
            if e["entity"]["what"] == f"user/{user.id}"]
    assert [e["type"] for e in mine] == ["user-disabled", "user-enabled", "user-role-removed",
                                         "user-tokens-revoked"]
    assert {e["agent"]["who"] for e in mine} == {"system/cli"}
    assert not [e for e in mine if email in str(e)]


# --- token scopes (item 10) ------------------------------------------------------------


def test_a_read_token_may_not_change_anything_and_is_told_its_scope(
    client: TestClient, engine: Engine
) -> None:
    _, token, _ = _account(engine, "requesting_officer", kind="home_office", scope="read")
    assert client.get("/api/trace-requests", headers=_bearer(token)).status_code == 200
    response = client.post("/api/trace-requests", headers=_bearer(token), json={})
    assert response.status_code == 403
    assert "scope is read" in response.json()["issue"][0]["diagnostics"]


def test_a_submit_token_may_not_review(client: TestClient, engine: Engine) -> None:
    _, token, _ = _account(engine, "tracer", "reviewer", scope="submit")
    response = client.post("/api/trace-requests/1/review", headers=_bearer(token),
                           json={"decision": "approve", "reason": "proportionate"})
    assert response.status_code == 403
    assert "scope is submit" in response.json()["issue"][0]["diagnostics"]


def test_me_shows_the_tokens_scope_and_only_what_it_allows(
    client: TestClient, engine: Engine
) -> None:
    _, token, _ = _account(engine, "tracer", "reviewer", scope="read")
    me = client.get("/api/me", headers=_bearer(token)).json()
    assert me["token_scope"] == "read"
    assert "read_request" in me["permissions"] and "run_trace" not in me["permissions"]


# --- reach by organisation kind (item 6) -----------------------------------------------


def test_a_home_office_auditor_sees_only_the_home_offices_requests(
    client: TestClient, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        trust = make_org(session, "nhs_trust").code
    _, home_office, _ = _account(engine, "auditor", kind="home_office")
    refused = client.get("/api/trace-requests", params={"organisation": trust},
                         headers=_bearer(home_office))
    assert refused.status_code == 404
    _, regulator, _ = _account(engine, "auditor", kind="regulator")
    assert client.get("/api/trace-requests", params={"organisation": trust},
                      headers=_bearer(regulator)).status_code == 200
    me = client.get("/api/me", headers=_bearer(home_office)).json()
    assert me["permissions"]["read_disclosure"] == "own_org"


def test_a_register_search_that_cannot_be_recorded_is_not_run(
    fresh_settings: Settings
) -> None:
    engine = make_engine(fresh_settings)
    upgrade(fresh_settings, engine)
    with unit_of_work(engine) as session:
        user = make_user(session, "tracer", org=make_org(session))
        token = create_token(session, user.email).token
    engine.dispose()
    app = create_app(fresh_settings)
    _read_only(app.state.engine)
    try:
        with TestClient(app) as client:
            response = client.get("/fhir/Patient", headers={
                **_bearer(token), "X-Caldicott-Reason": "data-quality"},
                params={"family": "Brannigan", "birthdate": "eq1990-05-05"})
        assert response.status_code == 503, response.text
        assert "cannot record this search" in response.json()["issue"][0]["diagnostics"]
    finally:
        app.state.engine.dispose()
