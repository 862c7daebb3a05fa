"""The seeds' world (staff with tokens, a register, a model) for the service's own tests:
in the test process (``lifecycle``) and behind a real ``caldicott serve`` (``served``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from caldicott.db import make_engine
from caldicott.migrations import upgrade
from caldicott.requests.world import build_world
from caldicott.settings import Settings
from tests.conftest import _drop_postgres_database
from tests.integration.requests.conftest import fresh_database, lifecycle
from tests.integration.service.serving import Served, serve

__all__ = ["lifecycle", "served"]


@pytest.fixture(scope="module")
def served(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp(f"served-{backend}")
    url, admin = fresh_database(backend, folder)
    settings = Settings(environment="test", database_url=url, data_dir=folder,
                        secret_key="served-test-secret", replay_history=True)
    engine = make_engine(settings)
    upgrade(settings, engine)
    world = build_world(engine, settings)
    engine.dispose()
    server = serve(url, folder, world, CALDICOTT_REPLAY_HISTORY="true")
    try:
        yield server
    finally:
        server.stop()
        if admin is not None:
            _drop_postgres_database(url, admin)  # type: ignore[arg-type]
