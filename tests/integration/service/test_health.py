"""``/healthz`` says unhealthy, with the reason, when the database cannot take writes;
and a write to a read-only or full database is one clear 503 anywhere in the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from caldicott.db import sqlite_file
from caldicott.requests.scenario import _ask
from caldicott.service.app import create_app
from caldicott.settings import Settings
from tests.integration.requests.conftest import Lifecycle


def _read_only_url(url: str) -> str:
    """The same database, opened as a read-only file is (SQLite) or with
    ``default_transaction_read_only`` (PostgreSQL)."""
    if url.startswith("sqlite"):
        return f"sqlite:///file:{sqlite_file(url)}?mode=ro&uri=true"
    return url + "?options=-c%20default_transaction_read_only%3Don"


def _client(settings: Settings, url: str) -> TestClient:
    return TestClient(create_app(Settings(**(settings.model_dump() | {"database_url": url}))))


@pytest.fixture()
def read_only(lifecycle: Lifecycle) -> Iterator[TestClient]:
    client = _client(lifecycle.settings, _read_only_url(lifecycle.settings.database_url or ""))
    yield client
    client.app.state.engine.dispose()  # type: ignore[attr-defined]


def _ask_body(lifecycle: Lifecycle, case: str) -> dict[str, Any]:
    return _ask(lifecycle.world.people.overstayer, dt.date(2017, 8, 1), "overstayer", None,
                case_reference=case)


def test_healthz_is_ok_on_a_writable_database(lifecycle: Lifecycle) -> None:
    reply = lifecycle.client.get("/healthz")
    assert reply.status_code == 200
    assert reply.json()["status"] == "ok"


def test_healthz_reports_a_read_only_database_as_unhealthy(read_only: TestClient) -> None:
    reply = read_only.get("/healthz")
    assert reply.status_code == 503
    assert reply.json()["status"] == "unhealthy"
    assert "read-only" in reply.json()["reason"]


def test_a_write_to_a_read_only_database_is_one_clear_503(lifecycle: Lifecycle,
                                                          read_only: TestClient) -> None:
    reply = read_only.post("/api/trace-requests", json=_ask_body(lifecycle, "RO-1"),
                           headers=lifecycle.auth("officer"))
    assert reply.status_code == 503, reply.text
    assert reply.headers["Retry-After"] == "60"
    issue = reply.json()["issue"][0]
    assert issue["code"] == "transient"
    assert issue["diagnostics"].startswith("the database is read-only")
    assert "INSERT" not in reply.text and "sqlite" not in reply.text.lower()
    again = read_only.get("/api/trace-requests", headers=lifecycle.auth("officer"))
    assert again.status_code in (200, 503)  # the connection is still usable


@pytest.fixture()
def full(lifecycle: Lifecycle) -> Iterator[TestClient]:
    """The SQLite database at its page limit: SQLite's own "database or disk is full"."""
    if lifecycle.engine.dialect.name != "sqlite":
        pytest.skip("a full PostgreSQL disk cannot be made in a test; see storage_trouble")
    client = _client(lifecycle.settings, lifecycle.settings.database_url or "")

    @event.listens_for(client.app.state.engine, "connect")  # type: ignore[attr-defined]
    def _no_more_pages(dbapi_connection: Any, _record: Any) -> None:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    yield client
    client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_healthz_reports_a_full_database_as_unhealthy(full: TestClient) -> None:
    reply = full.get("/healthz")
    assert reply.status_code == 503
    assert "full" in reply.json()["reason"]


def test_a_write_to_a_full_database_is_one_clear_503(lifecycle: Lifecycle,
                                                     full: TestClient) -> None:
    body = {"requests": [_ask_body(lifecycle, f"FULL-{n}") for n in range(400)]}
    reply = full.post("/api/trace-requests/batch", json=body, headers=lifecycle.auth("officer"))
    assert reply.status_code == 503, reply.text
    assert reply.json()["issue"][0]["diagnostics"].startswith("the database or its disk is full")
