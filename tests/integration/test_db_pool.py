"""Pooled PostgreSQL connections: a connection the server dropped while idle is replaced
before use; one just used is not pinged (one round trip saved per busy transaction)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from caldicott.db import PING_AFTER_IDLE, make_engine
from caldicott.settings import Settings
from tests.conftest import BACKENDS, _create_postgres_database, _drop_postgres_database

# These tests are about PostgreSQL's pool alone: a run limited to other backends
# (CALDICOTT_TEST_BACKENDS=sqlite) must not need, or touch, a PostgreSQL server.
pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS,
                                reason="PostgreSQL is not among CALDICOTT_TEST_BACKENDS")


@pytest.fixture()
def pg() -> Iterator[tuple[Engine, Engine]]:
    """A pool of one connection on a throwaway database, and an admin engine."""
    url, admin = _create_postgres_database()
    engine = make_engine(Settings(environment="test", database_url=url), pool_size=1)
    yield engine, admin
    engine.dispose()
    _drop_postgres_database(url, admin)


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")))




def test_a_connection_dropped_by_the_server_while_idle_is_replaced(
        pg: tuple[Engine, Engine]) -> None:
    pg_engine, admin = pg
    first = _backend_pid(pg_engine)
    with admin.connect() as other:  # the server ends the pooled session (a restart would)
        assert other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    time.sleep(PING_AFTER_IDLE + 0.1)
    second = _backend_pid(pg_engine)  # no error: the dead one was pinged and replaced
    assert second != first


def test_a_connection_used_just_now_is_not_pinged(pg: tuple[Engine, Engine]) -> None:
    pg_engine, _ = pg
    _backend_pid(pg_engine)
    pings: list[int] = []
    dialect = pg_engine.dialect
    original = dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        pings.append(1)
        return original(dbapi_connection)

    dialect.do_ping = counting_ping  # type: ignore[method-assign]
    try:
        for _ in range(5):
            _backend_pid(pg_engine)
        assert pings == []
        time.sleep(PING_AFTER_IDLE + 0.1)
        _backend_pid(pg_engine)
        assert pings == [1]
    finally:
        dialect.do_ping = original  # type: ignore[method-assign]
