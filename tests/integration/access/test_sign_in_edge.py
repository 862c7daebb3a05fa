"""Sign-in over HTTP and from the command line, on both backends: cookies, CSRF, lock-out,
page sessions and API tokens kept apart, failures logged without the e-mail or password,
and ``caldicott user set-password|totp|reset`` as an operator runs them."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from caldicott.access import sign_in
from caldicott.access.service import create_token
from caldicott.db import make_engine, unit_of_work
from caldicott.migrations import upgrade
from caldicott.service.app import create_app
from caldicott.settings import Settings

from .factories import make_org, make_user, recent_ledger_events

PASSWORD = "a synthetic passphrase"
HTML = {"Accept": "text/html"}


@pytest.fixture()
def officer(fresh_settings: Settings) -> Iterator[tuple[Settings, Engine, str]]:
    """A fresh database holding one officer with a password (the tests' apps commit)."""
    engine = make_engine(fresh_settings)
    upgrade(fresh_settings, engine)
    with unit_of_work(engine) as session:
        email = make_user(session, "requesting_officer",
                          org=make_org(session, "home_office")).email
        sign_in.set_password(session, fresh_settings, email, PASSWORD)
    yield fresh_settings, engine, email
    engine.dispose()


def _client(settings: Settings, **changes: object) -> TestClient:
    # Over HTTPS: a Secure cookie is not sent back over plain HTTP.
    return TestClient(create_app(settings.model_copy(update=changes)), headers=HTML,
                      base_url="https://testserver")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


def _sign_in(client: TestClient, email: str, password: str = PASSWORD) -> object:
    token = _csrf(client.get("/sign-in").text)
    return client.post("/sign-in", data={"email": email, "password": password,
                                         "csrf_token": token}, follow_redirects=False)


def test_the_session_cookie_is_httponly_samesite_and_secure_outside_development(
        officer: tuple[Settings, Engine, str]) -> None:
    settings, _, email = officer
    answer = _sign_in(_client(settings), email)
    cookie = answer.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "caldicott_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie and "Secure" in cookie
    answer = _sign_in(_client(settings, environment="development"), email)
    assert "Secure" not in answer.headers["set-cookie"]  # type: ignore[attr-defined]


def test_a_post_without_or_with_a_wrong_csrf_token_is_a_403_page(
        officer: tuple[Settings, Engine, str]) -> None:
    settings, _, email = officer
    client = _client(settings)
    client.get("/sign-in")
    for token in (None, "0" * 64):
        data = {"email": email, "password": PASSWORD} | ({"csrf_token": token} if token else {})
        answer = client.post("/sign-in", data=data, follow_redirects=False)
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("text/html")
        assert "did not come from this service" in answer.text
        assert "caldicott_session" not in answer.headers.get("set-cookie", "")


def test_a_page_session_is_no_api_token_and_an_api_token_no_page_session(
        officer: tuple[Settings, Engine, str]) -> None:
    settings, engine, email = officer
    client = _client(settings)
    _sign_in(client, email)
    session_id = client.cookies["caldicott_session"]
    assert client.get("/").status_code == 200
    api = TestClient(create_app(settings))
    refused = api.get("/api/trace-requests", headers={"Authorization": f"Bearer {session_id}"})
    assert refused.status_code == 401
    with unit_of_work(engine) as session:
        token = create_token(session, email, days=1).token
    browser = _client(settings)
    browser.cookies.set("caldicott_session", token)
    answer = browser.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in")


def test_repeated_failures_are_refused_and_logged_without_email_or_password(
        officer: tuple[Settings, Engine, str], caplog: pytest.LogCaptureFixture) -> None:
    settings, _, email = officer
    client = _client(settings, auth_failure_limit=3)
    with caplog.at_level(logging.INFO, logger="caldicott.access"):
        answers = [_sign_in(client, email, "wrong passphrase!") for _ in range(3)]
        locked = _sign_in(client, email)  # even the right password, now
    assert [a.status_code for a in answers] == [400, 400, 400]  # type: ignore[attr-defined]
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert "Too many failed sign-ins" in locked.text  # type: ignore[attr-defined]
    failures = [r.getMessage() for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert len(failures) == 3
    assert all(email not in line and "wrong passphrase" not in line for line in caplog.messages)


def test_a_reviewer_signs_in_with_a_code_through_the_pages(fresh_settings: Settings) -> None:
    engine = make_engine(fresh_settings)
    upgrade(fresh_settings, engine)
    with unit_of_work(engine) as session:
        email = make_user(session, "reviewer").email
        sign_in.set_password(session, fresh_settings, email, PASSWORD)
        secret = sign_in.enrol_totp(session, fresh_settings, email)[1]
    engine.dispose()
    client = _client(fresh_settings)
    assert _sign_in(client, email).headers["location"] == "/sign-in/code"  # type: ignore[attr-defined]
    assert client.get("/", follow_redirects=False).status_code == 303  # code still owed
    page = client.get("/sign-in/code")
    answer = client.post("/sign-in/code", data={"code": pyotp.TOTP(secret).now(),
                                                "csrf_token": _csrf(page.text)},
                         follow_redirects=False)
    assert answer.headers["location"] == "/"
    assert "What you can do" in client.get("/").text


def _caldicott(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALDICOTT_DATABASE_URL": settings.resolved_database_url,
           "CALDICOTT_DATA_DIR": str(settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "caldicott", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


def test_user_commands_set_enrol_and_reset_sign_in(settings: Settings, engine: Engine) -> None:
    with unit_of_work(engine) as session:
        user = make_user(session, "auditor", org=make_org(session, "nhs_digital"))
        email, user_id = user.email, user.id
    set_it = _caldicott(settings, "user", "set-password", email, "--stdin", stdin=PASSWORD + "\n")
    assert set_it.returncode == 0 and set_it.stdout.strip() == f"password set for {email}"
    totp = _caldicott(settings, "user", "totp", email)
    assert totp.returncode == 0, totp.stderr
    uri = totp.stdout.strip()
    assert uri.startswith("otpauth://totp/caldicott:") and "secret=" in uri
    with unit_of_work(engine) as session:
        started = sign_in.sign_in_with_password(session, email, PASSWORD)
        code = pyotp.parse_uri(uri).now()  # type: ignore[union-attr]
        assert sign_in.give_code(session, settings, started.session_id, code)
    reset = _caldicott(settings, "user", "reset", email)
    assert reset.returncode == 0 and "1 page session(s) ended" in reset.stdout
    short = _caldicott(settings, "user", "set-password", email, "--stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    kinds = [e["type"] for e in recent_ledger_events(engine, settings, 50)
             if e.get("entity", {}).get("what") == f"user/{user_id}" or
             f"user/{user_id}" in str(e)]
    assert {"user-password-set", "user-totp-enrolled", "user-sign-in-reset"} <= set(kinds)
