"""PostgreSQL: entries queued with their change, integrated by the sequencer after.

An append queues its entry (committed with its change) instead of taking the
tree's head, so no appender waits for another's commit; the committing
process's sequencer thread then puts it in the tree in an integration round.
SQLite never queues (one writer at a time): these tests are PostgreSQL's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from caldicott.db import unit_of_work
from caldicott.ledger import service
from caldicott.ledger.models import LedgerEntry, LedgerQuarantine, LedgerQueue
from caldicott.ledger.service import LedgerReceipt
from caldicott.ledger.verify import verify
from caldicott.service.app import create_app
from caldicott.settings import Settings
from tests.integration.ledger.conftest import make_event, run_cli


@pytest.fixture()
def pg(backend: str, fresh: tuple[Settings, Engine]) -> tuple[Settings, Engine]:
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: its appends always integrate directly")
    return fresh


@contextmanager
def head_locked(engine: Engine) -> Iterator[None]:
    """Another transaction holding the tree's head, as a concurrent appender does."""
    with engine.connect() as holder:
        holder.begin()
        holder.execute(text("SELECT 1 FROM ledger_head WHERE id = 1 FOR UPDATE"))
        yield
        holder.rollback()


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (int(connection.scalar(select(func.count()).select_from(LedgerEntry)) or 0),
                int(connection.scalar(select(func.count()).select_from(LedgerQueue)) or 0))


def _leaves(engine: Engine) -> list[bytes]:
    with engine.connect() as connection:
        return [bytes(h) for h in connection.scalars(
            select(LedgerEntry.leaf_hash).order_by(LedgerEntry.index))]


def _integrated_soon(engine: Engine, expected: tuple[int, int]) -> None:
    """Wait for the sequencer's round: (entries, queued) reaches ``expected``."""
    deadline = time.monotonic() + 60
    while _counts(engine) != expected:
        assert time.monotonic() < deadline, f"still {_counts(engine)}, not {expected}"
        time.sleep(0.01)


def _queue_and_crash(settings: Settings, engine: Engine, numbers: range) -> list[LedgerReceipt]:
    """Queue entries and commit them, then skip the round, as a process killed between
    its commit and its integration round would."""
    with unit_of_work(engine) as session:
        receipts = service.append_many(session, settings, [make_event(n) for n in numbers])
        session.info.pop(service._QUEUED)  # the process "dies" before its round
    assert all(r.index is None for r in receipts)
    return receipts


def _quarantined(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [int(seq) for seq in connection.scalars(
            select(LedgerQuarantine.seq).order_by(LedgerQuarantine.seq))]


def _verify_ok(settings: Settings, engine: Engine) -> int:
    with unit_of_work(engine) as session:
        report = verify(session, settings)
    assert report.ok, report.problems
    return report.queued


def test_a_commit_does_not_wait_for_the_head_and_the_sequencer_integrates_after(
        pg: tuple[Settings, Engine]) -> None:
    settings, engine = pg
    receipts: list[LedgerReceipt] = []

    def appender(number: int) -> None:
        with unit_of_work(engine) as session:
            receipts.append(service.append(session, settings, make_event(number)))

    with head_locked(engine):  # another transaction (a round elsewhere) holds the head
        thread = threading.Thread(target=appender, args=(0,))
        thread.start()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the commit waited for the tree's head"
        assert _counts(engine) == (0, 1)  # committed and queued, not yet in the tree
    _integrated_soon(engine, (1, 0))  # the head is free: the sequencer's round takes it
    appender(1)
    _integrated_soon(engine, (2, 0))
    assert [r.index for r in receipts] == [None, None]
    assert _leaves(engine) == [r.leaf_hash for r in receipts]
    assert _verify_ok(settings, engine) == 0


def test_a_queued_entry_rolls_back_with_the_callers_transaction(
        pg: tuple[Settings, Engine]) -> None:
    settings, engine = pg
    with pytest.raises(RuntimeError), unit_of_work(engine) as session:
        assert service.append(session, settings, make_event(1)).index is None
        raise RuntimeError("the disclosure failed")
    assert _counts(engine) == (0, 0)


def test_entries_left_queued_by_a_crash_are_checked_and_integrated_first_in_order(
        pg: tuple[Settings, Engine]) -> None:
    settings, engine = pg
    queued = _queue_and_crash(settings, engine, range(5))
    assert _counts(engine) == (0, 5)
    assert _verify_ok(settings, engine) == 5  # intact, counted, not yet in the tree
    with unit_of_work(engine) as session:  # the next append queues behind them...
        later = service.append(session, settings, make_event(5))
    assert later.index is None
    _integrated_soon(engine, (6, 0))  # ...and the round after it integrates all, in order
    assert _leaves(engine) == [r.leaf_hash for r in [*queued, later]]
    assert _verify_ok(settings, engine) == 0


def test_ledger_checkpoint_integrates_the_queue_before_signing(
        pg: tuple[Settings, Engine]) -> None:
    settings, engine = pg
    _queue_and_crash(settings, engine, range(3))
    result = run_cli(settings, "ledger", "checkpoint")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "3"
    assert _counts(engine) == (3, 0)


def test_an_edited_queued_entry_is_never_integrated_and_verify_names_it(
        pg: tuple[Settings, Engine]) -> None:
    settings, engine = pg
    _queue_and_crash(settings, engine, range(3))
    with engine.begin() as connection:
        seq = connection.scalar(text("SELECT min(seq) + 1 FROM ledger_queue"))
        connection.execute(text("UPDATE ledger_queue SET entry = convert_to(replace(convert_from("
                                "entry, 'UTF8'), 'trace-request/1', 'trace-request/9'), 'UTF8') "
                                "WHERE seq = :seq"),
                           {"seq": seq})
    assert service.integrate(engine, settings) == 2  # the two intact ones
    assert _counts(engine) == (2, 0)  # the edited one is set aside, not left at the head
    assert _quarantined(engine) == [seq]
    result = run_cli(settings, "ledger", "verify")
    assert result.returncode == 1
    assert f"queued entry {seq}: entry does not match its leaf hash" in result.stderr
    assert "set aside in ledger_quarantine" in result.stderr


def test_a_queued_row_forged_in_the_database_is_never_integrated(
        pg: tuple[Settings, Engine]) -> None:
    settings, engine = pg
    _queue_and_crash(settings, engine, range(1))
    with engine.begin() as connection:  # a copy with a new leaf but without the key
        connection.execute(text(
            "INSERT INTO ledger_queue (entry, leaf_hash, detail, seal) "
            "SELECT forged, sha256('\\x00'::bytea || forged), detail, seal FROM ("
            "SELECT convert_to(replace(convert_from(entry, 'UTF8'), 'user/0', 'user/6'), 'UTF8') "
            "AS forged, detail, seal FROM ledger_queue) AS copy"))
    assert service.integrate(engine, settings) == 1
    assert _counts(engine) == (1, 0)
    assert len(_quarantined(engine)) == 1
    result = run_cli(settings, "ledger", "verify")
    assert result.returncode == 1
    assert "seal does not match (written outside caldicott)" in result.stderr


def _forge(engine: Engine, copies: int) -> None:
    """``copies`` rows forged in the database from the first queued one (no key)."""
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO ledger_queue (entry, leaf_hash, detail, seal, subjects) "
            "SELECT forged, sha256('\\x00'::bytea || forged), detail, seal, subjects FROM ("
            "SELECT convert_to(replace(convert_from(entry, 'UTF8'), 'user/0', 'user/' || n), "
            "'UTF8') AS forged, detail, seal, subjects "
            "FROM (SELECT * FROM ledger_queue ORDER BY seq LIMIT 1) AS first, "
            "generate_series(1, :copies) AS n) AS copy"), {"copies": copies})


def test_more_forged_rows_than_a_round_takes_are_set_aside_and_later_rows_integrate(
        pg: tuple[Settings, Engine], monkeypatch: pytest.MonkeyPatch) -> None:
    settings, engine = pg
    monkeypatch.setattr(service, "ROUND_LIMIT", 3)
    _queue_and_crash(settings, engine, range(1))
    _forge(engine, 7)  # more than two rounds' worth at the head of the queue
    with engine.begin() as connection:  # the genuine row goes behind them
        connection.execute(text("UPDATE ledger_queue SET seq = seq + 100 WHERE seq = "
                                "(SELECT min(seq) FROM ledger_queue)"))
    later = _queue_and_crash(settings, engine, range(1, 3))
    assert _counts(engine) == (0, 10)
    done: list[int] = []
    thread = threading.Thread(target=lambda: done.append(service.integrate(engine, settings)),
                              daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the round never ended: forged rows stayed at the head"
    assert done == [3]  # every genuine row, the one behind the forgeries included
    assert _counts(engine) == (3, 0)
    assert len(_quarantined(engine)) == 7
    assert set(_leaves(engine)) >= {r.leaf_hash for r in later}
    result = run_cli(settings, "ledger", "verify")
    assert result.returncode == 1
    assert result.stderr.count("set aside in ledger_quarantine") == 7
    assert "ok:" not in result.stdout


def test_a_queued_row_with_edited_subjects_is_set_aside(pg: tuple[Settings, Engine]) -> None:
    settings, engine = pg
    _queue_and_crash(settings, engine, range(2))
    with engine.begin() as connection:  # point the first entry at another patient
        connection.execute(text(
            "UPDATE ledger_queue SET subjects = convert_to(replace(convert_from(subjects, "
            "'UTF8'), substr(convert_from(subjects, 'UTF8'), 17, 8), 'deadbeef'), 'UTF8') "
            "WHERE seq = (SELECT min(seq) FROM ledger_queue)"))
    assert service.integrate(engine, settings) == 1
    assert _counts(engine) == (1, 0)
    result = run_cli(settings, "ledger", "verify")
    assert result.returncode == 1
    assert "subjects do not match the commitments in the leaf" in result.stderr


# Eight threads append in their own transactions forever, printing each leaf hash
# once its transaction has committed, while the sequencer integrates behind them.
WRITERS = """
import threading
from caldicott.db import make_engine, unit_of_work
from caldicott.ledger import service
from caldicott.settings import Settings
from tests.integration.ledger.conftest import make_event

settings = Settings()
engine = make_engine(settings, pool_size=10)
lock = threading.Lock()

def write(first):
    for number in range(first, first + 100_000):  # synthetic NHS numbers stop at 999999
        with unit_of_work(engine) as session:
            receipt = service.append(session, settings, make_event(number, details=number % 2 == 0))
        with lock:
            print(receipt.leaf_hash.hex(), flush=True)

for first in range(0, 800_000, 100_000):
    threading.Thread(target=write, args=(first,)).start()
"""
ACKNOWLEDGED_BEFORE_KILL = 400


def test_sigkill_among_concurrent_appenders_loses_no_acknowledged_entry(
        pg: tuple[Settings, Engine]) -> None:
    settings, engine = pg
    env = os.environ | {"CALDICOTT_DATABASE_URL": settings.resolved_database_url,
                        "CALDICOTT_DATA_DIR": str(settings.data_dir),
                        "CALDICOTT_SECRET_KEY": settings.secret_key}
    acknowledged: list[str] = []
    with subprocess.Popen([sys.executable, "-c", WRITERS], env=env, stdout=subprocess.PIPE,
                          text=True, cwd=os.getcwd()) as writers:
        assert writers.stdout is not None
        deadline = time.monotonic() + 180
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
            line = writers.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
        os.kill(writers.pid, signal.SIGKILL)  # appends, commits and rounds in flight
        acknowledged.extend(ln.strip() for ln in writers.stdout if ln.strip())
        writers.wait()
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL

    result = run_cli(settings, "ledger", "verify")  # queued leftovers are checked, not lost
    assert result.returncode == 0, result.stderr
    with engine.connect() as connection:
        stored = {bytes(h).hex() for h in connection.scalars(select(LedgerEntry.leaf_hash))}
        waiting = {bytes(h).hex() for h in connection.scalars(select(LedgerQueue.leaf_hash))}
    assert set(acknowledged) <= stored | waiting
    assert service.integrate(engine, settings) == len(waiting)
    assert _counts(engine)[1] == 0
    assert set(acknowledged) <= set(h.hex() for h in _leaves(engine))
    result = run_cli(settings, "ledger", "verify")
    assert result.returncode == 0, result.stderr


def test_the_service_integrates_what_a_crash_left_queued_when_it_starts(
        pg: tuple[Settings, Engine]) -> None:
    settings, engine = pg
    _queue_and_crash(settings, engine, range(4))
    assert _counts(engine) == (0, 4)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert _counts(engine) == (4, 0)  # before the first request was served


def test_disposing_an_engine_runs_the_round_its_commits_are_owed(
        pg: tuple[Settings, Engine], monkeypatch: pytest.MonkeyPatch) -> None:
    settings, engine = pg
    monkeypatch.setattr(service, "MERGE_WINDOW", 30.0)  # the sequencer would wait 30 s
    with unit_of_work(engine) as session:
        service.append_many(session, settings, [make_event(n) for n in range(3)])
    assert _counts(engine) == (0, 3)
    engine.dispose()  # as a command or the service does when it ends
    assert _counts(engine) == (3, 0)
