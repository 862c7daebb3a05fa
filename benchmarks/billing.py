"""Billing benchmark: ingest of usage events, and every bill from 1,000,000 calls.

Run: ``python benchmarks/billing.py`` (1,000,000 calls over three NHS financial years for
57 organisations, SQLite and PostgreSQL) or ``--quick`` (50,000) while developing.
Figures go to ``benchmarks/results/billing.json`` (``billing_quick.json`` for --quick).
Targets (issue 13): ingest >= 5,000 events/s; all bills (per organisation per year, and
per organisation per month, for the three years) <= 30 s.

Ingest is measured as the service records usage: :func:`caldicott.billing.service.
record_usage` rates every event (Decimal, the price file's rule) and inserts it with
"skip a known event id", in transactions of ``--batch`` events. A second ingest of a
slice already stored is timed too and must add nothing (a repeated event counts once).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import throwaway_database, write_results

from caldicott.billing import service as billing
from caldicott.billing.core.bills import UsageEvent
from caldicott.db import make_engine, unit_of_work
from caldicott.migrations import upgrade
from caldicott.orgs.models import OrganisationRow
from caldicott.settings import Settings

YEARS = ("2016/17", "2017/18", "2018/19", "2019/20")
START = dt.datetime(2016, 9, 1, tzinfo=dt.UTC)  # the service opened; 3 years to 2019/20
SPAN_SECONDS = 3 * 365 * 86400


def events(org_ids: list[int], n: int, seed: int = 13) -> list[UsageEvent]:
    rng = random.Random(seed)
    made = []
    for i in range(n):
        start = START + dt.timedelta(seconds=rng.randrange(SPAN_SECONDS))
        made.append(UsageEvent(f"call/bench-{i}", rng.choice(org_ids), "call", start,
                               start + dt.timedelta(seconds=rng.randrange(30, 1800))))
    return made


def run_backend(backend: str, n: int, batch: int, folder: Path) -> dict[str, Any]:
    with throwaway_database(backend, folder) as url:
        settings = Settings(environment="test", database_url=url, data_dir=folder)
        engine = make_engine(settings)
        upgrade(settings, engine)
        with unit_of_work(engine) as session:
            orgs = [OrganisationRow(code=f"BTR{i:02d}", name=f"Bench trust {i}",
                                    kind="nhs_trust") for i in range(57)]
            session.add_all(orgs)
            session.flush()
            org_ids = [o.id for o in orgs]
        made = events(org_ids, n)
        started = time.perf_counter()
        for at in range(0, n, batch):
            with unit_of_work(engine) as session:
                billing.record_usage(session, made[at:at + batch])
        ingest = time.perf_counter() - started
        repeat = made[: min(batch, n)]
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            added_again = billing.record_usage(session, repeat)
        repeat_s = time.perf_counter() - started
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            yearly = [b for y in YEARS for b in billing.bills(session, y)]
            monthly = [b for y in YEARS for b in billing.bills(session, y, by_month=True)]
        bills_s = time.perf_counter() - started
        engine.dispose()
    calls = sum(b.calls for b in yearly)
    assert calls == sum(b.calls for b in monthly), "months must add up to years"
    assert added_again == 0, "a repeated event must count once"
    return {"events": n, "batch": batch, "ingest_s": round(ingest, 2),
            "ingest_per_s": round(n / ingest), "repeat_ingest_per_s": round(len(repeat) / repeat_s),
            "repeat_added": added_again, "bills_s": round(bills_s, 2),
            "yearly_bills": len(yearly), "monthly_bills": len(monthly),
            "calls_billed": calls, "pence_billed": sum(b.total_pence for b in yearly)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    n = args.events or (50_000 if args.quick else 1_000_000)
    figures: dict[str, Any] = {"targets": {"ingest_per_s": 5000, "bills_s": 30},
                               "organisations": 57, "years": list(YEARS)}
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            figures[backend] = run_backend(backend, n, args.batch, Path(folder))
            print(backend, figures[backend], flush=True)
    path = write_results("billing_quick" if args.quick else "billing", figures)
    print(f"written {path}")


if __name__ == "__main__":
    main()
