"""The checking service's stand-in as a real process on loopback, and signed organisations."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from caldicott.checking.service import sign_memorandum
from caldicott.orgs.models import OrganisationRow
from caldicott.settings import Settings
from tests.integration.access.factories import make_org

SRC = Path(__file__).parents[3] / "src"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Counterparty:
    """A running stand-in: its URL, and its controls."""

    def __init__(self, url: str) -> None:
        self.url = url

    def control(self, **change: Any) -> dict[str, Any]:
        result: dict[str, Any] = httpx.post(f"{self.url}/_control", json=change).json()
        return result

    def received(self) -> list[dict[str, Any]]:
        bodies: list[dict[str, Any]] = httpx.get(f"{self.url}/_received", timeout=30).json()
        return bodies


@pytest.fixture(scope="session")
def counterparty_process() -> Iterator[Counterparty]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    process = subprocess.Popen([sys.executable, "-m", "caldicott.checking.counterparty",
                                "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the checking service stand-in did not start") from None
            time.sleep(0.1)
    try:
        yield Counterparty(url)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture()
def counterparty(counterparty_process: Counterparty) -> Counterparty:
    """The stand-in, reset to a healthy service with nothing received."""
    counterparty_process.control(reset=True, latency_ms=0, error_rate=0.0, outage=False,
                                 fail_next=0, call_minutes=8.0)
    return counterparty_process


@pytest.fixture()
def session(session: Session) -> Session:
    """The shared rolled-back session, with its outer transaction really open on SQLite.

    pysqlite opens a transaction only before a data change: a SAVEPOINT issued first
    would start one of its own, and its RELEASE would commit, outliving the test. A
    no-op UPDATE on the bare connection opens the outer transaction first.
    """
    bind = session.get_bind()
    if isinstance(bind, Connection) and bind.dialect.name == "sqlite":
        bind.exec_driver_sql("UPDATE status_check SET state = state WHERE id = -1")
    return session


def ledger_events(session: Session, settings: Settings, n: int = 100) -> list[dict[str, Any]]:
    """The last ``n`` ledger entries as this test's own transaction sees them."""
    from caldicott.ledger import service as ledger

    with session.begin():
        ledger.integrate_queue(session, settings)
        size, _ = ledger.tree_head(session)
        rows = ledger.entries(session, max(0, size - n), size)
    return [json.loads(entry) for _, entry, _ in rows]


SignedOrg = Callable[..., OrganisationRow]


@pytest.fixture()
def signed_org(session: Session) -> SignedOrg:
    def make(kind: str = "nhs_trust", signed_on: dt.date = dt.date(2016, 9, 1)) -> OrganisationRow:
        with session.begin():
            org = make_org(session, kind)
            sign_memorandum(session, org.code, signed_on)
        return org

    return make
