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
import os
import pkgutil
import shutil
import sqlite3
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event, exc, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from caldicott.errors import CaldicottError
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

    SQL parameters never appear in logs or error messages (``hide_parameters``):
    they are names, dates of birth and NHS numbers. An embedded SQLite file is
    created 0600 (its -wal and -shm follow its mode) in a 0700 data folder.

    Example:
        >>> engine = make_engine(Settings(database_url="sqlite://"))
        >>> engine.dialect.name, engine.hide_parameters
        ('sqlite', True)
    """
    url = settings.resolved_database_url
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            if path.parent == settings.data_dir.absolute():
                private_folder(path.parent)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
            private_file(path)
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


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database.

    Example:
        >>> sqlite_file("sqlite:////tmp/c.db"), sqlite_file("sqlite://")
        (PosixPath('/tmp/c.db'), None)
        >>> sqlite_file("sqlite:///file:/tmp/c.db?mode=ro&uri=true")
        PosixPath('/tmp/c.db')
    """
    if not url.startswith("sqlite:///") or ":memory:" in url:
        return None
    location = url.removeprefix("sqlite:///").split("?", 1)[0]
    return Path(location.removeprefix("file:")) if location else None


def private_folder(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing and make it 0700, whatever the umask."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != 0o700:
        path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if missing, whatever the umask; take group
    and other permissions off an existing one (an owner's read-only stays read-only).

    SQLite gives a database's -wal and -shm files the database file's mode, so
    creating the database this way keeps all three private.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for existing in (path, path.with_name(path.name + "-wal"),
                         path.with_name(path.name + "-shm")):
            _owner_only(existing)
        return path
    try:
        os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)
    return path


def _owner_only(path: Path) -> None:
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            path.chmod(mode & 0o700)
    except OSError:  # missing, or not ours to change: SQLite will say if it cannot open it
        pass


class DatabaseUnavailable(CaldicottError):
    """The database refuses writes (read-only, full) or cannot be reached: one clear
    503 for every route and command, never a 500."""

    status_code = 503
    fhir_code = "transient"
    pds_code = "SERVICE_UNAVAILABLE"

    def __init__(self, diagnostics: str) -> None:
        super().__init__(diagnostics, {"Retry-After": "60"})


_READ_ONLY = "the database is read-only, so caldicott can record nothing; try again later"
_FULL = "the database or its disk is full, so caldicott can record nothing; try again later"
_SQLITE_READONLY, _SQLITE_FULL = 8, 13
_PG_READ_ONLY, _PG_DISK_FULL = "25006", "53100"


def storage_trouble(error: BaseException) -> DatabaseUnavailable | None:
    """The plain 503 for a database error that means read-only or full, else None.

    Example:
        >>> storage_trouble(sqlite3.OperationalError("x")) is None
        True
    """
    original = getattr(error, "orig", error)
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlite_code is not None and sqlite_code & 0xFF == _SQLITE_READONLY:
        return DatabaseUnavailable(_READ_ONLY)
    if sqlite_code is not None and sqlite_code & 0xFF == _SQLITE_FULL:
        return DatabaseUnavailable(_FULL)
    if sqlstate == _PG_READ_ONLY:
        return DatabaseUnavailable(_READ_ONLY)
    if sqlstate == _PG_DISK_FULL:
        return DatabaseUnavailable(_FULL)
    return None


MIN_FREE_BYTES = 8 * 2**20  # below this the disk of a SQLite database counts as full


def database_health(engine: Engine) -> str | None:
    """Why the database cannot take writes now (read-only, full, unreachable), or None.

    Reads only, except on SQLite, where a write that changes nothing is tried in
    a transaction that is rolled back (SQLite has no other way to say read-only).
    """
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                return _postgres_health(connection)
            database = engine.url.database
            return _sqlite_health(connection, sqlite_file(f"sqlite:///{database or ''}"))
    except exc.DBAPIError as error:
        trouble = storage_trouble(error)
        if trouble is not None:
            return trouble.diagnostics
        return f"cannot use the database ({type(error.orig).__name__})"


def _postgres_health(connection: Connection) -> str | None:
    read_only, standby = connection.execute(text(
        "SELECT current_setting('transaction_read_only'), pg_is_in_recovery()")).one()
    if read_only == "on" or standby:
        return _READ_ONLY
    return None


def _sqlite_health(connection: Connection, path: Path | None) -> str | None:
    pages, most = (connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                   for name in ("page_count", "max_page_count"))
    if pages >= most or (path is not None and shutil.disk_usage(path.parent).free
                         < MIN_FREE_BYTES):
        return _FULL
    raw: Any = connection.connection.driver_connection
    version = raw.execute("PRAGMA user_version").fetchone()[0]
    raw.execute("PRAGMA busy_timeout=1000")
    try:
        raw.execute("BEGIN")
        # Takes the write lock and dirties the header, rolled back: writes nothing.
        raw.execute(f"PRAGMA user_version={int(version)}")
    except sqlite3.Error as error:
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        if code == _SQLITE_READONLY:
            return _READ_ONLY
        if code not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):  # busy: someone writes
            return f"cannot write to the database ({type(error).__name__})"
    finally:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raw.execute("PRAGMA busy_timeout=30000")
    return None


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
