"""Server time of the reviewer's and auditor's page queries at scale (issue 12, must-show 5).

Run: ``python benchmarks/pages_queries.py`` (10,000 requests waiting, 1,000,000 ledger
entries, SQLite and PostgreSQL) or ``--quick`` (1,000 and 50,000) while developing.
Figures (p50, p95, max in ms, per query) go to ``benchmarks/results/pages_queries.json``
(``pages_queries-quick.json``). Target for the eventual pages: p95 <= 50 ms.

Each timing is one call of the service function a page handler makes, in its own
transaction as the handler would hold it (``unit_of_work``: begin, call, commit),
including the ledger entry each read writes. Pages are drawn at random depths (a
random ``after``/``before`` key), not only the first. On PostgreSQL the plans of the
explorer's queries are recorded (``EXPLAIN ANALYZE``) beside the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import throwaway_database, write_results
from pages_data import fill_ledger, fill_review_queue, world
from sqlalchemy import Engine, select, text

from caldicott.access import service as access
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Role
from caldicott.db import make_engine, unit_of_work
from caldicott.ledger import explorer, service
from caldicott.migrations import upgrade
from caldicott.requests import desk
from caldicott.requests.models import TraceRequestRow
from caldicott.settings import Settings


def _principal(engine: Engine, email: str) -> Principal:
    with unit_of_work(engine) as session:
        return access.principal_of(access.get_user(session, email))


def _timed(engine: Engine, runs: int, call: Callable[[Any, int], object]) -> dict[str, float]:
    timings = []
    for n in range(runs):
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            call(session, n)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {"runs": runs, "p50_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[int(0.95 * (runs - 1))], 2), "max_ms": round(timings[-1], 2)}


def _queue_timings(engine: Engine, settings: Settings, runs: int) -> dict[str, Any]:
    guardian = _principal(engine, "guardian@x26.example")
    with unit_of_work(engine) as session:
        waiting = list(session.scalars(select(TraceRequestRow.id).where(
            TraceRequestRow.status.in_(tuple(desk.TASKS))).order_by(TraceRequestRow.id)))
        traced = list(session.scalars(select(TraceRequestRow.id).where(
            TraceRequestRow.status == "awaiting_review")))
    rng = random.Random(3)
    return {
        "waiting": len(waiting),
        "review_queue_first_page_20": _timed(engine, runs, lambda s, n: desk.review_queue(
            s, settings, guardian, None, 20)),
        "review_queue_random_page_20": _timed(engine, runs, lambda s, n: desk.review_queue(
            s, settings, guardian, rng.choice(waiting), 20)),
        "review_desk_one_request": _timed(engine, runs, lambda s, n: desk.review_desk(
            s, settings, guardian, rng.choice(traced))),
    }


def _explorer_filters(size_days: int) -> dict[str, explorer.EntryFilter]:
    day = dt.date(2026, 1, 1) + dt.timedelta(days=size_days // 2)
    return {
        "no_filter": explorer.EntryFilter(),
        "type": explorer.EntryFilter(type="disclosure"),
        "agreement": explorer.EntryFilter(agreement="police-dpa-sch2"),
        "one_day": explorer.EntryFilter(recorded_from=day, recorded_to=day),
        "one_month": explorer.EntryFilter(recorded_from=day, recorded_to=day + dt.timedelta(30)),
        "type_agreement_month": explorer.EntryFilter(
            type="decision", agreement="tracing-mou", recorded_from=day,
            recorded_to=day + dt.timedelta(30)),
    }


#: The auditor of a database filled by ``pages_data.fill_ledger`` alone (no users in it).
AUDITOR = Principal(1, "auditor@x26.example", "Auditor", 1, "X26", "nhs_digital",
                    frozenset({Role.AUDITOR}))


def _explorer_timings(engine: Engine, settings: Settings, runs: int,
                      auditor: Principal | None = None) -> dict[str, Any]:
    auditor = auditor or _principal(engine, "auditor@x26.example")
    with unit_of_work(engine) as session:
        size = service.tree_head(session)[0]
        saved = service.checkpoint(session, settings)
    rng = random.Random(4)
    out: dict[str, Any] = {"entries": size}
    for name, wanted in _explorer_filters(365).items():
        out[f"entries_first_page_50_{name}"] = _timed(
            engine, runs, lambda s, n, w=wanted: explorer.entries(s, settings, auditor, w))
        out[f"entries_random_page_50_{name}"] = _timed(
            engine, runs, lambda s, n, w=wanted: explorer.entries(
                s, settings, auditor, w, rng.randrange(1, size)))
    out["filter_choices"] = _timed(engine, runs, lambda s, n: explorer.filter_choices(
        s, auditor))
    out["entry_inclusion_proof"] = _timed(engine, runs, lambda s, n: explorer.entry_proof(
        s, settings, auditor, rng.randrange(size)))
    out["consistency_with_saved_checkpoint"] = _timed(
        engine, runs, lambda s, n: explorer.consistency_with_note(s, settings, saved.note))
    return out


def _plans(engine: Engine) -> dict[str, list[str]]:
    """PostgreSQL's plans of the explorer's page queries (keyset, newest first)."""
    day = int(dt.datetime(2026, 7, 1, tzinfo=dt.UTC).timestamp())
    queries = {
        "type": "type = 'disclosure'",
        "agreement": "agreement = 'police-dpa-sch2'",
        "one_day": f"recorded >= {day} AND recorded < {day + 86_400}",
        "one_month": f"recorded >= {day} AND recorded < {day + 31 * 86_400}",
        "type_agreement_month": f"type = 'decision' AND agreement = 'tracing-mou' AND "
                                f"recorded >= {day} AND recorded < {day + 31 * 86_400}",
        "deep_page_type": "type = 'disclosure' AND \"index\" < 500000",
    }
    plans = {}
    with engine.connect() as connection:
        for name, where in queries.items():
            rows = connection.execute(text(
                f'EXPLAIN (ANALYZE, BUFFERS) SELECT "index", entry, leaf_hash FROM ledger_entry '
                f'WHERE {where} ORDER BY "index" DESC LIMIT 51'))
            plans[name] = [str(r[0]) for r in rows]
        rows = connection.execute(text(
            "EXPLAIN ANALYZE SELECT * FROM trace_request WHERE status IN "
            "('awaiting_public_interest', 'awaiting_review') AND id > 5000 ORDER BY id LIMIT 21"))
        plans["review_queue"] = [str(r[0]) for r in rows]
    return plans


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, throwaway_database(
            backend, Path(folder)) as url:
        settings = Settings(environment="test", database_url=url, data_dir=Path(folder),
                            secret_key="pages-benchmark-secret", replay_history=True)
        engine = make_engine(settings)
        upgrade(settings, engine)
        started = time.perf_counter()
        people = world(engine, settings, args.people)
        waiting = fill_review_queue(engine, settings, people, args.requests)
        queue_fill_s = time.perf_counter() - started
        print(f"{backend}: {waiting:,} waiting in {queue_fill_s:.0f} s", file=sys.stderr)
        rate = fill_ledger(engine, settings, args.entries)
        if backend == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
        else:
            with engine.begin() as c:
                c.execute(text("ANALYZE"))
        figures = {"fill": {"people": args.people, "queue_s": round(queue_fill_s, 1),
                            "ledger_entries_per_second": round(rate)},
                   "queue": _queue_timings(engine, settings, args.runs),
                   "explorer": _explorer_timings(engine, settings, args.runs)}
        if backend == "postgresql":
            figures["plans"] = _plans(engine)
        engine.dispose()
        return figures


def explorer_only(url: str, data_dir: Path, runs: int) -> dict[str, Any]:
    """Time the explorer over a ledger already filled by ``pages_data.fill_ledger``
    (``--explorer-on``: a changed query is re-timed without filling again)."""
    settings = Settings(environment="test", database_url=url, data_dir=data_dir,
                        secret_key="x-secret-for-bench")
    engine = make_engine(settings)
    figures = _explorer_timings(engine, settings, runs, AUDITOR)
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 requests, 50,000 entries")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--explorer-on", nargs=2, metavar=("URL", "DATA_DIR"),
                        help="only time the explorer, on this filled database and key folder")
    args = parser.parse_args()
    if args.explorer_on:
        figures = explorer_only(args.explorer_on[0], Path(args.explorer_on[1]), args.runs)
        print(write_results("pages_queries-explorer", {"database": args.explorer_on[0],
                                                        "explorer": figures}))
        return
    if args.quick:
        args.requests, args.entries, args.people, args.runs = 1_000, 50_000, 500, 50
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {"requests": args.requests, "entries": args.entries,
                               "target_p95_ms": 50, "run_at": dt.datetime.now(dt.UTC).isoformat()}
    for backend in backends:
        results[backend] = run_backend(backend, args)
        print(json.dumps({k: v for k, v in results[backend].items() if k != "plans"}, indent=1),
              file=sys.stderr)
    name = "pages_queries-quick" if args.quick else "pages_queries"
    if args.backend != "both":
        name += f"-{args.backend}"
    print(write_results(name, results))


if __name__ == "__main__":
    main()
