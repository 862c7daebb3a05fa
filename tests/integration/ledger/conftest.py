"""Ledger fixtures: an empty, migrated database of each backend per test, and events.

Tamper, crash and API tests commit for real, so each gets a database of its own
rather than the shared rolled-back session.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from caldicott.access.service import add_user, create_token
from caldicott.db import unit_of_work
from caldicott.ledger.core.events import Agent, AuditEvent, pseudonymise
from caldicott.orgs.repository import get_by_code
from caldicott.orgs.service import add_organisation
from caldicott.service.context import open_database
from caldicott.settings import Settings
from tests.conftest import _create_postgres_database, _drop_postgres_database
from tests.factories import synthetic_nhs_numbers

SECRET = "ledger-test-secret"


@pytest.fixture()
def fresh(backend: str, tmp_path: Path) -> Iterator[tuple[Settings, Engine]]:
    """Settings and engine for a brand-new migrated database, dropped afterwards."""
    if backend == "sqlite":
        url, admin = f"sqlite:///{tmp_path / 'ledger.db'}", None
    else:
        url, admin = _create_postgres_database()
    settings = Settings(environment="test", database_url=url, data_dir=tmp_path / "data",
                        secret_key=SECRET)
    settings, engine = open_database(settings)
    yield settings, engine
    engine.dispose()
    if admin is not None:
        _drop_postgres_database(url, admin)


def make_event(number: int, nhs: str | None = None, details: bool = True) -> AuditEvent:
    """A synthetic disclosure event about one synthetic patient."""
    nhs = nhs or next(synthetic_nhs_numbers(number))
    return AuditEvent(
        type="disclosure", action="R", outcome="success",
        recorded=dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=number),
        agent=Agent(f"user/{number % 7}", "X26", "tracer"), what=f"trace-request/{number}",
        purpose="immigration-enforcement", agreement="HO-NHSD-MoU", agreement_version="3",
        subjects=(pseudonymise(SECRET, "nhs_number", nhs),),
        details={"fields_released": "address", "candidates": number % 3} if details else {})


@pytest.fixture()
def event() -> Callable[..., AuditEvent]:
    return make_event


def token_for(engine: Engine, role: str, org: tuple[str, str] = ("X26", "nhs_digital")) -> str:
    """An API token of a new synthetic user holding ``role`` in organisation ``org``
    (code, kind), made if missing."""
    code, kind = org
    with unit_of_work(engine) as session:
        if get_by_code(session, code) is None:
            add_organisation(session, code, f"Synthetic {code}", kind)
        email = f"{role}.{code.lower()}@example.org"
        add_user(session, email, code, [role])
        return create_token(session, email, days=1).token


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``caldicott`` in a real subprocess against ``settings``' database and data folder."""
    env = os.environ | {"CALDICOTT_DATABASE_URL": settings.resolved_database_url,
                        "CALDICOTT_DATA_DIR": str(settings.data_dir),
                        "CALDICOTT_SECRET_KEY": settings.secret_key,
                        "CALDICOTT_ENVIRONMENT": "test"}
    return subprocess.run([sys.executable, "-m", "caldicott", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
