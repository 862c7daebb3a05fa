"""Shared fixtures: a real database on every backend, never a mock of one.

Every test that takes ``session``, ``engine`` or ``settings`` runs once on
SQLite and once on PostgreSQL. The PostgreSQL runs get a fresh database of
their own on the server named by ``CALDICOTT_TEST_POSTGRES_URL`` (default: the
local server, database ``test``), dropped at the end, so parallel runs never
meet. ``CALDICOTT_TEST_BACKENDS=sqlite`` limits a run to one backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from caldicott.db import make_engine
from caldicott.migrations import upgrade
from caldicott.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "CALDICOTT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = [backend for backend in
            os.environ.get("CALDICOTT_TEST_BACKENDS", "sqlite,postgresql").split(",") if backend]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _create_postgres_database() -> tuple[str, Engine]:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"caldicott_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name)
    return url.render_as_string(hide_password=False), admin


def _drop_postgres_database(url: str, admin: Engine) -> None:
    name = make_url(url).database
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of the backend, dropped after the session."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'caldicott.db'}"
        return
    url, admin = _create_postgres_database()
    yield url
    _drop_postgres_database(url, admin)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("data")
    return Settings(environment="test", database_url=database_url, data_dir=data_dir,
                    secret_key="test-secret-not-for-production")


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """The migrated database: ``alembic upgrade heads`` once per backend."""
    engine = make_engine(settings)
    upgrade(settings, engine)
    yield engine
    engine.dispose()


@pytest.fixture()
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test.

    Code under test may call ``session.begin()`` / commit; those become
    savepoints, so nothing a test writes outlives it.
    """
    with engine.connect() as connection:
        transaction = connection.begin()
        if connection.dialect.name == "sqlite":
            # pysqlite opens a transaction only before a data change: a SAVEPOINT
            # issued first would start one of its own, whose RELEASE commits.
            connection.exec_driver_sql("BEGIN")
        session = Session(bind=connection, join_transaction_mode="create_savepoint",
                          expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture()
def fresh_settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for an empty database of the test's own, dropped afterwards.

    For tests whose code commits (a CLI subprocess, a server): they cannot run
    inside the rolled-back ``session`` and must not leave rows for others.
    """
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        yield Settings(environment="test", database_url=url, data_dir=tmp_path,
                       secret_key="test-secret-not-for-production")
        return
    url, admin = _create_postgres_database()
    try:
        yield Settings(environment="test", database_url=url, data_dir=tmp_path,
                       secret_key="test-secret-not-for-production")
    finally:
        _drop_postgres_database(url, admin)
