"""Which database errors are the one clear 503 (read-only, full) and which are bugs."""

from __future__ import annotations

import sqlite3

import psycopg.errors
from sqlalchemy.exc import DBAPIError, OperationalError

from caldicott.db import storage_trouble


def _wrapped(error: Exception) -> DBAPIError:
    return DBAPIError.instance("INSERT INTO patient VALUES (?)", ("Amara",), error,
                               sqlite3.Error, hide_parameters=True)


def test_postgresql_read_only_and_disk_full_are_a_503() -> None:
    read_only = storage_trouble(_wrapped(psycopg.errors.ReadOnlySqlTransaction("ro")))
    full = storage_trouble(_wrapped(psycopg.errors.DiskFull("could not extend file")))
    assert read_only is not None and read_only.status_code == 503
    assert read_only.diagnostics.startswith("the database is read-only")
    assert full is not None and full.diagnostics.startswith("the database or its disk is full")


def test_sqlite_read_only_and_full_are_a_503() -> None:
    read_only = sqlite3.OperationalError("attempt to write a readonly database")
    read_only.sqlite_errorcode = sqlite3.SQLITE_READONLY  # type: ignore[attr-defined]
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    assert storage_trouble(_wrapped(read_only)) is not None
    assert storage_trouble(_wrapped(full)) is not None


def test_other_database_errors_stay_bugs() -> None:
    assert storage_trouble(_wrapped(psycopg.errors.UniqueViolation("dup"))) is None
    assert storage_trouble(OperationalError("SELECT 1", None, sqlite3.OperationalError("x"))) \
        is None


def test_hidden_parameters_stay_out_of_the_error_text() -> None:
    assert "Amara" not in str(_wrapped(psycopg.errors.UniqueViolation("dup")))
