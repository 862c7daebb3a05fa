"""Storage: the declarative base, engines and sessions.

One metadata for every capability's tables, with a naming convention so that
Alembic names constraints the same way on SQLite and PostgreSQL. Capability
models live in ``caldicott/<capability>/models.py``; :func:`load_all_models`
imports every one of them, so migrations and tests see the whole schema
without a hand-kept list.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import operator
import pkgutil
import sqlite3
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, exc
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from caldicott.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware timestamp, stored in UTC on every backend.

    SQLite has no time zones; this refuses naive datetimes on the way in and
    hands back aware ones on the way out, so both backends behave alike.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: caldicott stores only timezone-aware times")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def load_all_models() -> MetaData:
    """Import every ``caldicott.<capability>.models`` module and return the metadata."""
    package_dir = Path(__file__).parent
    for info in pkgutil.iter_modules([str(package_dir)]):
        if info.ispkg and (package_dir / info.name / "models.py").exists():
            importlib.import_module(f"caldicott.{info.name}.models")
    return Base.metadata


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    """Build the engine for the configured database.

    Example:
        >>> engine = make_engine(Settings(database_url="sqlite://"))
        >>> engine.dialect.name
        'sqlite'
    """
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite://":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # The service runs sync routes on a pool of 40 threads: keep as many connections
    # open, or overflow connections are opened and closed on every busy request.
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE = 0.5  # seconds: HikariCP's aliveBypassWindowMs default


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection is alive before use, unless it was in use within
    ``PING_AFTER_IDLE`` seconds (as HikariCP does): one round trip saved on every
    transaction of a busy service, while a connection the server dropped while it
    sat idle (a restart, an idle timeout) is still replaced before anyone uses it.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["caldicott.checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get("caldicott.checked_in")
        if last is None or time.monotonic() - last < PING_AFTER_IDLE:
            return  # just connected, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool discards it and checks out another
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# One factory per engine: building a sessionmaker costs more than a short transaction.
_FACTORIES: weakref.WeakKeyDictionary[Engine, sessionmaker[Session]] = (
    weakref.WeakKeyDictionary())


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: commits on success, rolls back on any error."""
    factory = _FACTORIES.get(engine)
    if factory is None:
        factory = _FACTORIES[engine] = make_session_factory(engine)
    with factory() as session, session.begin():
        yield session


def bulk_insert(session: Session, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows into ``table`` by each backend's fastest path, in the
    session's transaction: PostgreSQL ``COPY``, SQLite the driver's ``executemany``.
    A register or an index is millions of rows; ORM inserts would take minutes."""
    if not rows:
        return
    columns = list(rows[0])
    getter = operator.itemgetter(*columns) if len(columns) > 1 else (
        lambda row: (row[columns[0]],))
    bulk_insert_rows(session, table, columns, map(getter, rows))


def bulk_insert_rows(session: Session, table: str, columns: Sequence[str],
                     rows: Iterable[Sequence[Any]]) -> None:
    """:func:`bulk_insert` for rows that are already tuples in ``columns`` order
    (no dict per row). Dates may be given as ISO strings (``YYYY-MM-DD``)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
            f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        return
    # SQLite: straight to the driver. SQLAlchemy's per-row type processing costs
    # more than the insert itself at register scale; values are converted here
    # to exactly the forms SQLAlchemy's SQLite types store.
    statement = (f"INSERT INTO {table} ({', '.join(columns)}) "
                 f"VALUES ({', '.join('?' for _ in columns)})")
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with _sqlite_date_adapters():
        cursor.executemany(statement, rows)
    cursor.close()


@functools.lru_cache(maxsize=64)  # an import stamps every row with the same time
def _sqlite_datetime(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@contextmanager
def _sqlite_date_adapters() -> Iterator[None]:
    """Store dates as SQLAlchemy's SQLite types do (ISO text), only while bulk loading."""
    keys = [(dt.date, sqlite3.PrepareProtocol), (dt.datetime, sqlite3.PrepareProtocol)]
    saved = {key: sqlite3.adapters.get(key) for key in keys}
    sqlite3.register_adapter(dt.date, dt.date.isoformat)
    sqlite3.register_adapter(dt.datetime, _sqlite_datetime)
    try:
        yield
    finally:
        for key, adapter in saved.items():
            if adapter is None:
                sqlite3.adapters.pop(key, None)
            else:
                sqlite3.adapters[key] = adapter
