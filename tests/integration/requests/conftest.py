"""A fresh database per backend holding the seeds' world: staff with tokens, a register, a model.

Each backend gets its own database (not the shared ``engine``), because the
lifecycle tests commit: requests, releases and ledger entries are the outcome.
The matching model is trained once per test run and copied to the other backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


def fresh_database(backend: str, folder: Path) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'lifecycle.db'}", None
    return _create_postgres_database()


@pytest.fixture(scope="session")
def lifecycle(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    folder = tmp_path_factory.mktemp(f"lifecycle-{backend}")
    url, admin = fresh_database(backend, folder)
    settings = Settings(environment="test", database_url=url, data_dir=folder,
                        secret_key="lifecycle-test-secret")
    engine = make_engine(settings)
    upgrade(settings, engine)
    world = build_world(engine)
    client = TestClient(create_app(settings))
    try:
        yield Lifecycle(settings, engine, world, client)
    finally:
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
        engine.dispose()
        if admin is not None:
            _drop_postgres_database(url, admin)  # type: ignore[arg-type]
