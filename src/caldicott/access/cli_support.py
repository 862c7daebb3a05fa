"""One database session for a CLI command, with database trouble as one plain line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from caldicott.db import make_engine, unit_of_work
from caldicott.errors import CaldicottError
from caldicott.settings import Settings


class DatabaseNotReady(CaldicottError):
    """The database cannot be reached or has not been migrated."""

    status_code = 503
    fhir_code = "transient"
    pds_code = "SERVICE_UNAVAILABLE"


@contextmanager
def command_session() -> Iterator[Session]:
    """A session in one transaction on the configured database (commits on success)."""
    settings = Settings()
    engine = make_engine(settings)
    try:
        with unit_of_work(engine) as session:
            yield session
    except (OperationalError, ProgrammingError) as error:
        raise DatabaseNotReady(_explain(error)) from None
    finally:
        engine.dispose()


def _explain(error: OperationalError | ProgrammingError) -> str:
    first_line = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
    if "no such table" in first_line or "does not exist" in first_line:
        return f"the database has no schema yet ({first_line}); run `caldicott db upgrade`"
    return f"cannot use the database: {first_line}"
