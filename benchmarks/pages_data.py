"""Data for timing the reviewer's and auditor's pages: a queue of 10,000 requests waiting
for a reviewer and a valid ledger of 1,000,000 entries, on SQLite or PostgreSQL.

Fast, and still real:

* The queue. One request goes the whole real way (submitted, validated, weighed,
  traced: every column as the service sets it); :func:`fill_review_queue` then
  copies it in bulk inserts, each copy asking for a different person of the
  register (so each one's re-scored candidates are that person's), with a trace
  run each. A tenth wait for the public-interest test instead.
* The ledger. :func:`fill_ledger` appends synthetic events through the ledger's own
  ``append_many`` (10,000 per transaction: one statement per table per batch), so
  every leaf, node, seal and checkpoint is what the service would write and
  ``caldicott ledger verify`` passes. The events span a year and several types and
  agreements, so the explorer's filters have something to select.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from caldicott.db import make_session_factory, unit_of_work
from caldicott.ledger import service as ledger
from caldicott.ledger.core.events import Agent, AuditEvent, pseudonymise
from caldicott.register.repository import load_records
from caldicott.requests.models import TraceRequestRow, TraceRunRow
from caldicott.requests.scenario import _ask, last_postcode, public_interest
from caldicott.requests.world import World, build_world
from caldicott.service.app import create_app
from caldicott.settings import Settings

TYPES = ("trace-request-received", "trace-request-validated", "trace-request-traced",
         "trace-request-reviewed", "disclosure", "read", "decision", "status-check")
AGREEMENTS = ("tracing-mou", "police-dpa-sch2", "checking-service-mou", "debt-referral", None)
FIRST_DAY = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def world(engine: Engine, settings: Settings, people: int) -> World:
    """Organisations, staff with tokens, a register of ``people`` and a trained model."""
    return build_world(engine, settings, people=people)


def _post(client: TestClient, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    if reply.status_code not in (200, 201):
        raise RuntimeError(f"{path}: {reply.status_code} {reply.text[:300]}")
    return dict(reply.json())


def one_request_awaiting_review(settings: Settings, people: World) -> int:
    """One request taken the real way to ``awaiting_review``: the template of the queue."""
    person = people.people.overstayer
    body = _ask(person, dt.date(2017, 6, 1), "overstayer", last_postcode(person),
                case_reference="BENCH-0")
    with TestClient(create_app(settings)) as client:
        request_id = int(_post(client, people.tokens["officer"], "/api/trace-requests",
                               body)["id"])
        _post(client, people.tokens["tracer"], f"/api/trace-requests/{request_id}/validate",
              {"decision": "accept", "reasons": [], "note": "procedure followed"})
        shown = _post(client, people.tokens["guardian"],
                      f"/api/trace-requests/{request_id}/public-interest", public_interest())
    if shown["internal_status"] != "awaiting_review":
        raise RuntimeError(f"the template request is {shown['internal_status']}")
    return request_id


def _copy(template: dict[str, Any], record: Any, number: int, waiting_test: bool,
          received: dt.datetime) -> dict[str, Any]:
    address = record.last_known_address
    row = {**template, "idempotency_key": None, "given_name": record.given_name,
           "family_name": record.family_name, "birth_date": record.birth_date,
           "sex": record.sex, "postcode": address.postcode if address else None,
           "case_reference": f"BENCH-{number}", "received_at": received,
           "status_changed_at": received, "matched_nhs_number": record.nhs_number}
    if waiting_test:
        row |= {"status": "awaiting_public_interest", "traced_by": None, "traced_at": None,
                "trace_outcome": None, "match_probability": None, "match_margin": None,
                "model_version": None, "matched_nhs_number": None, "route": None,
                "route_reasons": None, "release_decision_id": None,
                "release_check_fields": None}
    return row


def fill_review_queue(engine: Engine, settings: Settings, people: World, count: int = 10_000,
                      batch: int = 2_000, seed: int = 12) -> int:
    """Bulk-insert ``count`` requests waiting for a reviewer; returns how many now wait."""
    template_id = one_request_awaiting_review(settings, people)
    with unit_of_work(engine) as session:
        row = session.get(TraceRequestRow, template_id)
        assert row is not None
        template = {c.key: getattr(row, c.key) for c in TraceRequestRow.__table__.columns
                    if c.key != "id"}
        numbers = list(session.scalars(select(TraceRequestRow.matched_nhs_number).where(
            TraceRequestRow.matched_nhs_number.is_not(None))))  # the story's own people
        from caldicott.register.models import PatientRow
        everyone = list(session.scalars(select(PatientRow.nhs_number)))
        records = load_records(session, everyone)
    usable = [r for r in records.values() if r.given_name and r.last_known_address
              and r.death_date is None and not r.restricted and r.nhs_number not in numbers]
    rng, start = random.Random(seed), dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    done = 0
    while done < count:
        step = min(batch, count - done)
        rows = [_copy(template, rng.choice(usable), done + n, rng.random() < 0.1,
                      start + dt.timedelta(seconds=(done + n) * 250)) for n in range(step)]
        with unit_of_work(engine) as session:
            ids = session.scalars(insert(TraceRequestRow).returning(
                TraceRequestRow.id, sort_by_parameter_order=True), rows)
            runs = [{"request_id": i, "traced_by": template["traced_by"],
                     "traced_at": r["received_at"], "outcome": "traced",
                     "match_probability": r["match_probability"],
                     "model_version": r["model_version"]}
                    for i, r in zip(ids, rows, strict=True) if r["status"] == "awaiting_review"]
            if runs:
                session.execute(insert(TraceRunRow), runs)
        done += step
    with unit_of_work(engine) as session:
        return len(list(session.scalars(select(TraceRequestRow.id).where(
            TraceRequestRow.status.in_(("awaiting_review", "awaiting_public_interest"))))))


def ledger_event(number: int, total: int, secret: str) -> AuditEvent:
    """A synthetic event: types, agreements and a year of days in proportion."""
    kind = TYPES[number % len(TYPES)]
    subjects = (pseudonymise(secret, "nhs_number", f"999{number % 9_000_000:07d}"),) if (
        kind == "disclosure") else ()
    return AuditEvent(
        type=kind, action="E", outcome="success",
        recorded=FIRST_DAY + dt.timedelta(seconds=int(number * 365 * 86_400 / total)),
        agent=Agent(f"user/{number % 40}", "X26", "tracer"), what=f"trace-request/{number}",
        agreement=AGREEMENTS[(number // 3) % len(AGREEMENTS)],
        agreement_version=str(1 + number % 3), subjects=subjects,
        details={"step": number % 7} if number % 4 == 0 else {})


def fill_ledger(engine: Engine, settings: Settings, target: int = 1_000_000,
                batch: int = 10_000) -> float:
    """Grow the log to ``target`` entries with the ledger's own ``append_many``; returns
    entries per second."""
    sessions = make_session_factory(engine)
    with sessions() as session:
        size, _ = ledger.tree_head(session)
    started, done = time.perf_counter(), size
    while done < target:
        step = min(batch, target - done)
        with sessions() as session, session.begin():
            ledger.append_many(session, settings, [ledger_event(n, target, settings.secret_key)
                                                   for n in range(done, done + step)])
        ledger.integrate(engine, settings)  # PostgreSQL: into the tree before the next batch
        done += step
        print(f"  ledger {done:,}", end="\r", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return (done - size) / max(time.perf_counter() - started, 1e-9)
