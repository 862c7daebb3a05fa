"""SIGKILL in the middle of a run of appends loses nothing that was acknowledged.

On SQLite an acknowledged append is in the tree; on PostgreSQL it may still be
in the queue, committed and sealed, when the process dies (its sequencer's round
not yet run): verify checks it there, and the next round puts it in the tree in
the order it was acknowledged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import Engine, select

from caldicott.ledger.models import LedgerEntry, LedgerQueue
from caldicott.settings import Settings
from tests.integration.ledger.conftest import run_cli

# Appends in its own transactions forever, printing "index leaf-hash" after each commit
# (index "None" when the entry was queued, on PostgreSQL).
WRITER = """
import sys
from caldicott.db import unit_of_work
from caldicott.ledger import service
from caldicott.service.context import open_database
from tests.integration.ledger.conftest import make_event

settings, engine = open_database()
number = 0
while True:
    with unit_of_work(engine) as session:
        receipt = service.append(session, settings, make_event(number, details=number % 2 == 0))
    print(receipt.index, receipt.leaf_hash.hex(), flush=True)
    number += 1
"""
ACKNOWLEDGED_BEFORE_KILL = 300


def _run_writer_until_killed(settings: Settings) -> list[tuple[str, str]]:
    env = os.environ | {"CALDICOTT_DATABASE_URL": settings.resolved_database_url,
                        "CALDICOTT_DATA_DIR": str(settings.data_dir),
                        "CALDICOTT_SECRET_KEY": settings.secret_key}
    with subprocess.Popen([sys.executable, "-c", WRITER], env=env, stdout=subprocess.PIPE,
                          text=True, cwd=os.getcwd()) as writer:
        assert writer.stdout is not None
        acknowledged: list[tuple[str, str]] = []
        deadline = time.monotonic() + 120
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
            line = writer.stdout.readline()
            if not line:
                break
            index, digest = line.split()
            acknowledged.append((index, digest))
        os.kill(writer.pid, signal.SIGKILL)  # mid-run: the next append is usually in flight
        acknowledged.extend((i, d) for i, d in (ln.split() for ln in writer.stdout
                                                 if ln.strip()))
        writer.wait()
    assert writer.returncode == -signal.SIGKILL
    return acknowledged


def _stored(engine: Engine) -> tuple[dict[int, str], set[str]]:
    """The tree's leaves by index, and the leaf hashes waiting in the queue."""
    with engine.connect() as connection:
        stored = {int(i): bytes(h).hex() for i, h in
                  connection.execute(select(LedgerEntry.index, LedgerEntry.leaf_hash))}
        waiting = {bytes(h).hex() for h in connection.scalars(select(LedgerQueue.leaf_hash))}
    return stored, waiting


def test_sigkill_mid_append_loses_no_acknowledged_entry_and_verifies(
        backend: str, fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    acknowledged = _run_writer_until_killed(settings)
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
    digests = [digest for _, digest in acknowledged]
    if backend == "sqlite":  # integrated directly: the index was known at the commit
        assert [index for index, _ in acknowledged] == [str(n) for n in range(len(digests))]
    else:
        assert {index for index, _ in acknowledged} == {"None"}

    result = run_cli(settings, "ledger", "verify")  # queued leftovers are checked, not lost
    assert result.returncode == 0, result.stderr
    stored, waiting = _stored(engine)
    assert set(digests) <= set(stored.values()) | waiting

    result = run_cli(settings, "ledger", "checkpoint")  # integrates the queue, then signs
    assert result.returncode == 0, result.stderr
    stored, waiting = _stored(engine)
    assert not waiting
    assert sorted(stored) == list(range(len(stored)))  # dense indexes, no gap
    assert [stored[index] for index in range(len(digests))] == digests  # in acknowledged order
    assert len(stored) in (len(digests), len(digests) + 1)  # at most one unreported
    result = run_cli(settings, "ledger", "verify")
    assert result.returncode == 0, result.stderr


APPENDER = """
import sys
from caldicott.db import make_session_factory
from caldicott.ledger import service
from caldicott.service.context import open_database
from tests.integration.ledger.conftest import make_event

settings, engine = open_database()
sessions = make_session_factory(engine)
for number in range(int(sys.argv[1]), int(sys.argv[1]) + 150):
    with sessions() as session, session.begin():
        service.append(session, settings, make_event(number))
"""


def test_concurrent_appenders_get_dense_unique_indexes(fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    env = os.environ | {"CALDICOTT_DATABASE_URL": settings.resolved_database_url,
                        "CALDICOTT_DATA_DIR": str(settings.data_dir),
                        "CALDICOTT_SECRET_KEY": settings.secret_key}
    writers = [subprocess.Popen([sys.executable, "-c", APPENDER, str(start)], env=env)
               for start in (0, 1000, 2000)]
    assert [writer.wait(timeout=300) for writer in writers] == [0, 0, 0]
    with engine.connect() as connection:
        indexes = list(connection.scalars(select(LedgerEntry.index).order_by(LedgerEntry.index)))
    assert indexes == list(range(450))
    result = run_cli(settings, "ledger", "verify")
    assert result.returncode == 0, result.stderr
