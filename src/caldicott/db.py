"""Storage: the declarative base, engines and sessions.

One metadata for every capability's tables, with a naming convention so that
Alembic names constraints the same way on SQLite and PostgreSQL. Capability
models live in ``caldicott/<capability>/models.py``; :func:`load_all_models`
imports every one of them, so migrations and tests see the whole schema
without a hand-kept list.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
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
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


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
