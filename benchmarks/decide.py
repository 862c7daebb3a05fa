"""Agreement decisions: in-process latency of ``decide`` and replay throughput.

1. ``decide`` latency, p50 / p99 over a mix of requests on every channel and
   date (permits, denies that work out their unmet conditions, queue-free),
   each timed on its own with ``perf_counter_ns``. Target p50 <= 200 µs.
   Cedar's own evaluation (``is_authorized`` on a pre-parsed policy set) is
   measured beside it for reference.
2. Replay: 100,000 stored decisions (SQLite file, inserted in bulk), re-decided
   under the narrowed reading of tracing-mou version 2 (``tracing-mou-narrowed``;
   the shipped version 2 is suspended, so it would only queue) through
   ``caldicott.agreements.service.replay``.
   Target <= 30 s.

Run: ``python benchmarks/decide.py [--quick]``; writes ``benchmarks/results/decide.json``.
The machine is shared with other agents: figures move with their load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import cedarpy

from caldicott.agreements.core import (
    FIELDS,
    DebtReferralRequest,
    Request,
    StatusCheckRequest,
    TraceRequest,
    decide,
    load_packs,
)
from caldicott.agreements.core.cedar import NO_ENTITIES, SCHEMA, compiled

HERE = Path(__file__).parent
TRACE_FIELDS = ["name", "date_of_birth", "sex", "address", "gp_practice", "registration_date"]


def _random_request(rng: random.Random) -> tuple[Request, dt.date, str]:
    day = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randrange(0, 4 * 365))
    fields = frozenset(rng.sample(TRACE_FIELDS, rng.randint(1, len(TRACE_FIELDS))))
    kind = rng.random()
    if kind < 0.6:
        return (
            TraceRequest(
                "home-office",
                fields,
                patient_restricted=rng.random() < 0.05,
                category=rng.choice(["overstayer", "illegal_entrant", "foreign_national_offender"]),
                deportation_considered=rng.random() < 0.5,
                custodial_sentence_months=rng.choice([0, 6, 11, 12, 18, 48]),
                risk_to_public=rng.random() < 0.1,
                alternatives_exhausted=rng.random() < 0.9,
            ),
            day,
            "tracing-mou",
        )
    if kind < 0.8:
        asked = frozenset({"name", "nationality", "date_of_birth"})
        if rng.random() < 0.1:
            asked |= {"address"}
        return StatusCheckRequest("trust-rj1", asked), day, "checking-service-mou"
    return (
        DebtReferralRequest(
            "trust-rj1",
            frozenset({"name", "date_of_birth", "debt_details"}),
            debt_pence=rng.randrange(10_000, 300_000),
            treatment_date=day - dt.timedelta(days=120),
            invoice_date=day - dt.timedelta(days=rng.randrange(30, 120)),
            paid=rng.random() < 0.1,
        ),
        day,
        "debt-referral",
    )


def _percentiles(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    return {
        "p50_us": ordered[len(ordered) // 2] / 1000,
        "p99_us": ordered[int(len(ordered) * 0.99)] / 1000,
        "mean_us": statistics.fmean(ordered) / 1000,
    }


def bench_decide(n: int) -> dict[str, Any]:
    packs = load_packs().agreements
    rng = random.Random(4)
    cases = [_random_request(rng) for _ in range(n)]
    for request, day, agreement in cases[:200]:  # warm: compile every version once
        decide(request, day, packs[agreement])
    samples, outcomes = [], {"permit": 0, "deny": 0, "queue": 0}
    for request, day, agreement in cases:
        start = time.perf_counter_ns()
        decision = decide(request, day, packs[agreement])
        samples.append(time.perf_counter_ns() - start)
        outcomes[decision.outcome.value] += 1
    version = packs["tracing-mou"].versions[1]
    program = compiled(version)
    cedar_request = {
        "principal": {"type": "Requester", "id": "home-office"},
        "action": {"type": "Action", "id": "trace"},
        "resource": {"type": "Disclosure", "id": "request"},
        "context": {
            "requested_fields": ["name"],
            "patient_restricted": False,
            "request_date": 20180601,
            "purpose": "trace_immigration_offender",
            "category": "foreign_national_offender",
            "deportation_considered": True,
            "deportation_stage": "considered",
            "custodial_sentence_months": 18,
            "qualifying_sentence_months": 18,
            "risk_to_public": False,
            "risk_category": "",
            "alternatives_exhausted": True,
        },
    }
    cedar_samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        cedarpy.is_authorized(cedar_request, program.decision_set, NO_ENTITIES, SCHEMA)
        cedar_samples.append(time.perf_counter_ns() - start)
    return {
        "requests": n,
        "outcomes": outcomes,
        "decide": _percentiles(samples),
        "cedar_is_authorized_alone": _percentiles(cedar_samples),
        "target_p50_us": 200,
    }


def bench_replay(n: int) -> dict[str, Any]:
    from caldicott.agreements.repository import add_decisions
    from caldicott.agreements.service import replay
    from caldicott.db import make_engine, unit_of_work
    from caldicott.migrations import upgrade
    from caldicott.settings import Settings

    packs = load_packs()
    mou = packs.agreements["tracing-mou"]
    rng = random.Random(9)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{folder}/replay.db")
        engine = make_engine(settings)
        upgrade(settings, engine)  # replay reads decisions and, for releases, trace requests
        start = time.perf_counter()
        with unit_of_work(engine) as session:
            batch = []
            for _ in range(n):
                request, _, _ = _random_request(rng)
                while not isinstance(request, TraceRequest):
                    request, _, _ = _random_request(rng)
                day = dt.date(2017, 1, 1) + dt.timedelta(days=rng.randrange(0, 700))
                decision = decide(request, day, mou)
                batch.append(
                    {
                        "as_of": day,
                        "channel": "trace",
                        "agreement": "tracing-mou",
                        "version": decision.version,
                        "content_hash": decision.content_hash,
                        "outcome": decision.outcome.value,
                        "request_facts": request.facts(),
                        "released_fields": sorted(decision.released_fields),
                        "unmet": [[u.clause_id, u.text] for u in decision.unmet],
                        "decided_at": dt.datetime.now(dt.UTC),
                    }
                )
                if len(batch) == 5000:
                    add_decisions(session, batch)
                    batch = []
            add_decisions(session, batch)
        seeded = time.perf_counter() - start
        start = time.perf_counter()
        with unit_of_work(engine) as session:
            report = replay(
                session, "tracing-mou-narrowed", "2", decisions_of="tracing-mou", packs=packs
            )
        elapsed = time.perf_counter() - start
        engine.dispose()
    return {
        "decisions": n,
        "replayed": report.replayed,
        "distinct_inputs_evaluated_by_cedar": report.evaluated,
        "would_flip": report.flipped,
        "changes": dict(report.changes),
        "replay_seconds": round(elapsed, 2),
        "per_decision_us": round(elapsed / max(report.replayed, 1) * 1e6, 1),
        "seed_seconds": round(seeded, 2),
        "target_seconds": 30,
        "backend": "sqlite",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for development")
    args = parser.parse_args()
    decide_n, replay_n = (2_000, 5_000) if args.quick else (20_000, 100_000)
    result = {
        "quick": args.quick,
        "fields_known": len(FIELDS),
        "decide": bench_decide(decide_n),
        "replay": bench_replay(replay_n),
    }
    out = HERE / "results" / "decide.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
