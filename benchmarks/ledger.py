"""Ledger benchmark: appends per second, inclusion proofs and full verify at scale.

Run: ``python benchmarks/ledger.py`` (1,000,000 entries, SQLite and PostgreSQL) or
``--quick`` (20,000 entries) while developing. Figures go to
``benchmarks/results/ledger.json``. Targets (issue 5): appends >= 2,000/s in the
service's own transactions, an inclusion proof at 1,000,000 entries <= 2 ms, a
full verify of 1,000,000 entries <= 30 s.

Appends are measured the way the service makes them: one append per transaction,
each in its own session, committed. On PostgreSQL an append queues with its
change and the process's sequencer thread integrates it after the commit (see
``caldicott.ledger.service``). Once by one client, and once by ``--clients``
concurrent clients (threads spread over ``--processes`` processes, each with its
own connection), as a service under load runs them. Both figures count an
append only once it is in the tree: the clock stops when the last entry has
been integrated. Beside them, in the same run: what the database allows any
transaction (a one-row insert per commit, through a bare connection and through
a session as the service's transactions use), and the merge delay (commit to
tree) of single appends.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from caldicott.db import make_engine, make_session_factory
from caldicott.ledger import service
from caldicott.ledger.core.events import Agent, AuditEvent, pseudonymise
from caldicott.ledger.core.merkle import verify_inclusion
from caldicott.ledger.verify import verify
from caldicott.service.context import open_database
from caldicott.settings import Settings

RESULTS = Path(__file__).parent / "results" / "ledger.json"
SECRET = "benchmark-secret"
AGENT = Agent("user/7", "X26", "tracer")
SUBJECT = pseudonymise(SECRET, "nhs_number", "9990000018")
WHEN = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def make_event(number: int) -> AuditEvent:
    return AuditEvent(type="disclosure", action="R", outcome="success", recorded=WHEN,
                      agent=AGENT, what=f"trace-request/{number}",
                      purpose="immigration-enforcement", agreement="HO-NHSD-MoU",
                      agreement_version="3", subjects=(SUBJECT,),
                      details={"candidates": number % 3})


@contextmanager
def database(backend: str, postgres_url: str, folder: Path) -> Iterator[tuple[Settings, Engine]]:
    admin = None
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'ledger-bench.db'}"
    else:
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        name = f"caldicott_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    settings = Settings(environment="test", database_url=url, data_dir=folder / backend,
                        secret_key=SECRET)
    settings, engine = open_database(settings)
    try:
        yield settings, engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def time_appends(settings: Settings, engine: Engine, count: int, per_transaction: int) -> float:
    """Appends through the service, ``per_transaction`` to a commit (1: a disclosure's shape),
    until the last is in the tree."""
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    for first in range(0, count, per_transaction):
        with sessions() as session, session.begin():
            for number in range(first, min(first + per_transaction, count)):
                service.append(session, settings, make_event(number))
    service.integrate(engine, settings)  # PostgreSQL: whatever the sequencer has not yet taken
    return count / (time.perf_counter() - started)


def time_merge_delay(settings: Settings, engine: Engine, samples: int) -> dict[str, float]:
    """From an append's commit to its entry being in the tree (0 on SQLite: direct)."""
    sessions = make_session_factory(engine)
    delays = []
    for number in range(samples):
        with sessions() as session:
            size_before, _ = service.tree_head(session)
            session.rollback()
            with session.begin():
                service.append(session, settings, make_event(number))
            committed = time.perf_counter()
            while service.tree_head(session)[0] <= size_before:
                session.rollback()
                time.sleep(0.0005)
            delays.append((time.perf_counter() - committed) * 1000)
            session.rollback()
        time.sleep(0.02)  # one at a time: each commit is a sequencer's first
    delays.sort()
    return {"samples": samples, "p50_ms": delays[len(delays) // 2],
            "p99_ms": delays[int(len(delays) * 0.99)], "max_ms": delays[-1]}


def _clients(url: str, data_dir: str, threads: int, per_thread: int, first: int,
             ready: Any, go: Any, done: Any, floor: bool) -> None:
    """One process of the concurrent run: ``threads`` clients, one append per transaction
    (``floor``: a one-row insert instead, what the disk allows concurrent commits)."""
    settings = Settings(environment="test", database_url=url, data_dir=Path(data_dir),
                        secret_key=SECRET)
    engine = make_engine(settings, pool_size=threads + 2, max_overflow=threads)
    sessions = make_session_factory(engine)
    connections = [engine.connect() for _ in range(threads + 1)]  # open them before the clock
    for connection in connections:
        connection.close()
    queued = [0] * threads

    def client(number: int) -> None:
        start = first + number * per_thread
        for event_number in range(start, start + per_thread):
            with sessions() as session, session.begin():
                if floor:
                    session.execute(text("INSERT INTO bench_commit_floor VALUES (1)"))
                    continue
                receipt = service.append(session, settings, make_event(event_number))
            queued[number] += receipt.index is None

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    ready.put(True)
    go.wait()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    service.integrate(engine, settings)  # the clock stops when every entry is in the tree
    engine.dispose()
    done.put(sum(queued))


def time_concurrent_appends(settings: Settings, engine: Engine, clients: int, processes: int,
                            per_client: int, floor: bool = False) -> dict[str, Any]:
    """``clients`` concurrent clients, each appending one event per transaction
    (``floor``: each inserting one row into a scratch table, for comparison)."""
    if floor:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE bench_commit_floor (x INTEGER)"))
    sessions = make_session_factory(engine)
    with sessions() as session:
        size_before, _ = service.tree_head(session)
    context = multiprocessing.get_context("spawn")
    ready, done, go = context.Queue(), context.Queue(), context.Event()
    spread = [clients // processes + (n < clients % processes) for n in range(processes)]
    first, workers = 10_000_000 + size_before, []
    for threads in (t for t in spread if t):
        workers.append(context.Process(target=_clients, args=(
            settings.resolved_database_url, str(settings.data_dir), threads, per_client, first,
            ready, go, done, floor)))
        first += threads * per_client
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    started = time.perf_counter()
    go.set()
    queued = sum(done.get(timeout=600) for _ in workers)
    seconds = time.perf_counter() - started
    for worker in workers:
        worker.join()
    total = clients * per_client
    if floor:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE bench_commit_floor"))
        return {"clients": clients, "processes": len(workers), "commits": total,
                "seconds": seconds, "commits_per_second": total / seconds}
    with sessions() as session, session.begin():
        size_after, _ = service.tree_head(session)
        waiting = session.scalar(text("SELECT count(*) FROM ledger_queue"))
    return {"clients": clients, "processes": len(workers), "appends": total,
            "seconds": seconds, "appends_per_second": total / seconds,
            "queued_then_integrated": queued, "integrated_by_the_end": size_after - size_before,
            "left_in_queue": waiting}


def time_append_many(settings: Settings, engine: Engine, count: int, per_transaction: int) -> float:
    """append_many: several events recorded under one lock and one commit."""
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    for first in range(0, count, per_transaction):
        events = [make_event(n) for n in range(first, min(first + per_transaction, count))]
        with sessions() as session, session.begin():
            service.append_many(session, settings, events)
    service.integrate(engine, settings)
    return count / (time.perf_counter() - started)


def commit_floor(engine: Engine, count: int, session: bool = False) -> float:
    """Commits per second of a one-row insert: what the database allows any transaction,
    through a bare connection or (``session``) a session, as the service's transactions."""
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_commit_floor (x INTEGER)"))
    insert = text("INSERT INTO bench_commit_floor VALUES (1)")
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    for _ in range(count):
        if session:
            with sessions() as in_session, in_session.begin():
                in_session.execute(insert)
            continue
        with engine.begin() as connection:
            connection.execute(insert)
    rate = count / (time.perf_counter() - started)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE bench_commit_floor"))
    return rate


def fill(settings: Settings, engine: Engine, target: int, batch: int = 10_000) -> float:
    """Grow the log to ``target`` entries with append_many; returns entries per second."""
    sessions = make_session_factory(engine)
    with sessions() as session:
        size, _ = service.tree_head(session)
    started, done = time.perf_counter(), size
    while done < target:
        step = min(batch, target - done)
        with sessions() as session, session.begin():
            events = [make_event(n) for n in range(done, done + step)]
            service.append_many(session, settings, events)
        service.integrate(engine, settings)  # PostgreSQL: into the tree before the next batch
        done += step
        print(f"  filled {done:,}", end="\r", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return (done - size) / max(time.perf_counter() - started, 1e-9)


def time_inclusion_proofs(engine: Engine, samples: int) -> dict[str, float]:
    timings = []
    with make_session_factory(engine)() as session, session.begin():
        size, root = service.tree_head(session)
        for index in random.Random(5).sample(range(size), samples):
            started = time.perf_counter()
            proof = service.inclusion_proof(session, index, size)
            timings.append((time.perf_counter() - started) * 1000)
            verify_inclusion(index, size, proof.leaf_hash, proof.proof, root)
    timings.sort()
    return {"tree_size": size, "samples": samples, "mean_ms": statistics.fmean(timings),
            "p50_ms": timings[len(timings) // 2], "p99_ms": timings[int(len(timings) * 0.99)]}


def time_verify(settings: Settings, engine: Engine) -> dict[str, Any]:
    with make_session_factory(engine)() as session, session.begin():
        service.checkpoint(session, settings)
    # One snapshot, as `caldicott ledger verify` takes.
    level = "SERIALIZABLE" if engine.dialect.name == "sqlite" else "REPEATABLE READ"
    snapshot = engine.execution_options(isolation_level=level)
    with make_session_factory(snapshot)() as session, session.begin():
        started = time.perf_counter()
        report = verify(session, settings)
        seconds = time.perf_counter() - started
    return {"tree_size": report.tree_size, "seconds": seconds, "ok": report.ok}


def run_backend(backend: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    print(f"{backend}: appends", file=sys.stderr)
    load_at_start = list(os.getloadavg())
    with database(backend, args.postgres_url, folder) as (settings, engine):
        floor = commit_floor(engine, min(args.appends, 2000))
        session_floor = commit_floor(engine, min(args.appends, 2000), session=True)
        single = time_appends(settings, engine, args.appends, 1)
        merge_delay = time_merge_delay(settings, engine, args.proofs // 5)
        print(f"{backend}: {args.clients} concurrent clients", file=sys.stderr)
        per_client = max(args.appends * 2 // args.clients, 1)
        concurrent_floor = time_concurrent_appends(settings, engine, args.clients,
                                                   args.processes, per_client, floor=True)
        concurrent = time_concurrent_appends(settings, engine, args.clients, args.processes,
                                             per_client)
        print(f"{backend}: by number of concurrent clients", file=sys.stderr)
        sweep = []
        for clients in (1, 2, 4, 8, 16, 32, 64):
            processes = min(clients, args.processes)
            each = max(args.appends * 2 // clients, 1)
            floor_at = time_concurrent_appends(settings, engine, clients, processes, each,
                                               floor=True)
            appends_at = time_concurrent_appends(settings, engine, clients, processes, each)
            sweep.append({"clients": clients, "processes": processes,
                          "commit_floor_per_second": floor_at["commits_per_second"],
                          "appends_per_second": appends_at["appends_per_second"]})
        batched = time_appends(settings, engine, args.appends * 2, 100)
        many = time_append_many(settings, engine, args.appends * 4, 100)
        print(f"{backend}: filling to {args.size:,}", file=sys.stderr)
        bulk = fill(settings, engine, args.size)
        proofs = time_inclusion_proofs(engine, args.proofs)
        print(f"{backend}: verifying", file=sys.stderr)
        verified = time_verify(settings, engine)
    return {"load_average_at_start": load_at_start, "load_average_at_end": list(os.getloadavg()),
            "commit_floor_per_second_one_row_insert": floor,
            "session_commit_floor_per_second_one_row_insert": session_floor,
            "appends_per_second_one_per_transaction": single,
            "merge_delay_commit_to_tree": merge_delay,
            "concurrent_commit_floor_one_row_insert": concurrent_floor,
            "concurrent_one_per_transaction": concurrent,
            "by_concurrent_clients": sweep,
            "appends_per_second_100_per_transaction": batched,
            "appends_per_second_append_many_100_per_transaction": many,
            "fill_entries_per_second_10000_per_transaction": bulk,
            "inclusion_proof": proofs, "verify": verified}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 entries, for development")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=5_000)
    parser.add_argument("--proofs", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=32,
                        help="concurrent clients (service transactions) for the concurrent run")
    parser.add_argument("--processes", type=int, default=4,
                        help="processes the concurrent clients are spread over")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    if args.quick:
        args.size, args.appends, args.proofs = 20_000, 1_000, 200
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    name = RESULTS if not args.quick else RESULTS.with_name("ledger-quick.json")
    previous = json.loads(name.read_text()) if name.exists() else {}
    results: dict[str, Any] = {key: value for key, value in previous.items()
                               if key in ("sqlite", "postgresql") and key not in backends}
    results |= {"size": args.size, "quick": args.quick,
                "run_at": dt.datetime.now(dt.UTC).isoformat(),
                "cpus": os.cpu_count(),
                "targets": {"appends_per_second": 2000, "inclusion_proof_ms": 2,
                            "verify_seconds_at_1m": 30}}
    results["load_average_at_start"] = list(os.getloadavg())
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            results[backend] = run_backend(backend, args, Path(folder))
            print(json.dumps(results[backend], indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    name.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
