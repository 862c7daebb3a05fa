"""One database session for a CLI command, with database trouble as one plain line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from caldicott.db import make_engine, unit_of_work
from caldicott.errors import CaldicottError, Conflict
from caldicott.settings import Settings


class DatabaseNotReady(CaldicottError):
    """The database cannot be reached or has not been migrated."""

    status_code = 503
    fhir_code = "transient"
    pds_code = "SERVICE_UNAVAILABLE"


@contextmanager
def command_session(settings: Settings | None = None) -> Iterator[Session]:
    """A session in one transaction on the configured database (commits on success)."""
    settings = settings or Settings()
    engine = make_engine(settings)
    try:
        with unit_of_work(engine) as session:
            yield session
    except IntegrityError as error:  # lost a race with another command: say so, plainly
        raise Conflict(f"conflicts with existing data: {_first_line(error)}") from None
    except (OperationalError, ProgrammingError) as error:
        raise DatabaseNotReady(_explain(error)) from None
    finally:
        engine.dispose()


def _first_line(error: IntegrityError | OperationalError | ProgrammingError) -> str:
    return (str(error.orig) if error.orig else str(error)).strip().splitlines()[0]


def _explain(error: OperationalError | ProgrammingError) -> str:
    first_line = _first_line(error)
    missing_table = "no such table" in first_line or (
        "relation" in first_line and "does not exist" in first_line)
    if missing_table:
        return f"the database has no schema yet ({first_line}); run `caldicott db upgrade`"
    return f"cannot use the database: {first_line}"
