"""The service itself moves queued requests on: no operator has to run a command."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caldicott.db import make_engine
from caldicott.migrations import upgrade
from caldicott.requests.scenario import _ask
from caldicott.requests.world import World, build_world
from caldicott.service.app import create_app
from caldicott.settings import Settings
from tests.conftest import _drop_postgres_database
from tests.integration.requests.conftest import fresh_database


@pytest.fixture
def world_settings(backend: str, tmp_path: Path) -> Iterator[tuple[Settings, World]]:
    url, admin = fresh_database(backend, tmp_path)
    settings = Settings(environment="test", database_url=url, data_dir=tmp_path,
                        secret_key="scheduler-test-secret", queue_seconds=0.2,
                        replay_history=True)
    engine = make_engine(settings)
    upgrade(settings, engine)
    try:
        yield settings, build_world(engine, settings)
    finally:
        engine.dispose()
        if admin is not None:
            _drop_postgres_database(url, admin)  # type: ignore[arg-type]


def _status(client: TestClient, request_id: int, headers: dict[str, str]) -> dict:
    return dict(client.get(f"/api/trace-requests/{request_id}", headers=headers).json())


def test_the_service_decides_queued_requests_once_the_agreement_is_withdrawn(
        world_settings: tuple[Settings, World]) -> None:
    settings, world = world_settings
    officer = {"Authorization": f"Bearer {world.tokens['officer']}"}
    auditor = {"Authorization": f"Bearer {world.tokens['auditor']}"}
    # Dated while the memorandum was suspended (9 May to 9 Nov 2018): queued on receipt.
    body = _ask(world.people.offender, dt.date(2018, 6, 1), "foreign_national_offender", None,
                purpose="trace_for_deportation", deportation_stage="considered",
                requested_fields=["name", "address"])
    # Received while the agreement is suspended, by a service that does not run the queue.
    quiet = TestClient(create_app(settings.model_copy(update={"queue_seconds": 0})))
    queued = quiet.post("/api/trace-requests", json=body, headers=officer).json()
    assert queued["status"] == "under_consideration"
    assert _status(quiet, queued["id"], auditor)["status"] == "queued"
    quiet.app.state.engine.dispose()  # type: ignore[attr-defined]

    # A service that runs: the agreement has long been withdrawn (9 Nov 2018), so the
    # queued request is decided as of today, refused under the withdrawal clause.
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 60
        seen = _status(client, queued["id"], auditor)
        while seen["status"] == "queued" and time.monotonic() < deadline:
            time.sleep(0.1)
            seen = _status(client, queued["id"], auditor)
        later = client.post("/api/trace-requests", json={**body, "case_reference": "Q-LATE"},
                            headers=officer).json()
        assert _status(client, later["id"], auditor)["status"] == "queued"
        while _status(client, later["id"], auditor)["status"] == "queued" and (
                time.monotonic() < deadline):
            time.sleep(0.1)
        moved_later = _status(client, later["id"], officer)
        seen = _status(client, queued["id"], officer)
    assert seen["status"] == "refused"
    assert seen["refusal"]["reasons"][0]["clause"] == "W.1"
    # The second was received while the service ran: a later round of the queue took it.
    assert moved_later["status"] == "refused"
