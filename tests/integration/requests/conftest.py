"""A fresh database per backend holding the seeds' world: staff with tokens, a register, a model.

Each backend gets its own database (not the shared ``engine``), because the
lifecycle tests commit: requests, releases and ledger entries are the outcome.
The matching model is trained once per test run and copied to the other backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from caldicott.db import make_engine
from caldicott.migrations import upgrade
from caldicott.requests.world import World, build_world
from caldicott.service.app import create_app
from caldicott.settings import Settings
from tests.conftest import _create_postgres_database, _drop_postgres_database


@dataclass
class Lifecycle:
    settings: Settings
    engine: Engine
    world: World
    client: TestClient

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.world.tokens[who]}"}

    def submit(self, body: dict[str, Any], who: str = "officer", **headers: str
               ) -> dict[str, Any]:
        reply = self.client.post("/api/trace-requests", json=body,
                                 headers={**self.auth(who), **headers})
        assert reply.status_code in (200, 201), reply.text
        return dict(reply.json())

    def read(self, request_id: int, who: str = "auditor") -> dict[str, Any]:
        """The request as ``who`` sees it (the auditor: every step)."""
        reply = self.client.get(f"/api/trace-requests/{request_id}", headers=self.auth(who))
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    def post(self, request_id: int, step: str, body: dict[str, Any], who: str) -> Any:
        return self.client.post(f"/api/trace-requests/{request_id}/{step}", json=body,
                                headers=self.auth(who))

    def validate(self, request_id: int, who: str = "tracer", accept: bool = True,
                 reasons: tuple[str, ...] = ()) -> Any:
        return self.post(request_id, "validate", {
            "decision": "accept" if accept else "reject", "reasons": list(reasons),
            "note": "procedure followed" if accept else "procedure not followed"}, who)

    def weigh(self, request_id: int, decision: str = "disclose", who: str = "guardian") -> Any:
        from caldicott.requests.scenario import public_interest

        return self.post(request_id, "public-interest", public_interest(decision), who)

    def review(self, request_id: int, decision: str = "approve", who: str = "guardian",
               disclosure: str = "fields") -> Any:
        return self.post(request_id, "review", {"decision": decision, "disclosure": disclosure,
                                                "reason": f"{decision} by {who}"}, who)

    def to_review(self, body: dict[str, Any], who: str = "officer") -> int:
        """Submit, validate and weigh a request: it is traced and awaits review."""
        request_id = int(self.submit(body, who)["id"])
        assert self.validate(request_id).status_code == 200
        weighed = self.weigh(request_id)
        assert weighed.status_code == 200, weighed.text
        assert weighed.json()["internal_status"] == "awaiting_review", weighed.text
        return request_id


def fresh_database(backend: str, folder: Path) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'lifecycle.db'}", None
    return _create_postgres_database()


@pytest.fixture(scope="session")
def lifecycle(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    folder = tmp_path_factory.mktemp(f"lifecycle-{backend}")
    url, admin = fresh_database(backend, folder)
    settings = Settings(environment="test", database_url=url, data_dir=folder,
                        secret_key="lifecycle-test-secret", replay_history=True)
    engine = make_engine(settings)
    upgrade(settings, engine)
    world = build_world(engine, settings)
    client = TestClient(create_app(settings))
    try:
        yield Lifecycle(settings, engine, world, client)
    finally:
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
        engine.dispose()
        if admin is not None:
            _drop_postgres_database(url, admin)  # type: ignore[arg-type]
