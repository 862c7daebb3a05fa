"""Intake (idempotency, batches, bad input) and the queue of a suspended agreement."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from caldicott.db import make_session_factory, unit_of_work
from caldicott.ledger.models import LedgerEntry
from caldicott.requests.scenario import _ask
from caldicott.requests.worker import process_pending
from tests.integration.requests.conftest import Lifecycle

SUSPENDED_PACK = '''
id = "tracing-suspension-test"
title = "A tracing agreement suspended pending review, resumed, then withdrawn (test only)"
channels = ["trace"]
parties = ["Home Office", "NHS Digital"]

[[version]]
version = "1"
effective_from = 2018-05-09
effective_to = 2018-08-01
suspended = true
purposes = ["tracing a person considered for deportation"]
approval = "one_reviewer"

[[version.clause]]
id = "2.1"
text = """The person is being considered for deportation action."""
requires = "context.deportation_considered"

[[version.clause]]
id = "3.1"
text = """Only name, date of birth and address are released."""
release = ["name", "date_of_birth", "address"]

[[version]]
version = "2"
effective_from = 2018-08-01
effective_to = 2018-11-09
purposes = ["tracing a person considered for deportation"]
approval = "one_reviewer"

[[version.clause]]
id = "2.1"
text = """The person is being considered for deportation action."""
requires = "context.deportation_considered"

[[version.clause]]
id = "3.1"
text = """Only name, date of birth and address are released."""
release = ["name", "date_of_birth", "address"]

[[version]]
version = "3"
effective_from = 2018-11-09
purposes = []
approval = "one_reviewer"

[[version.clause]]
id = "W.1"
text = """The agreement was withdrawn. No request is answered under it."""
forbids = "true"
'''


def _submit(lifecycle: Lifecycle, body: dict, **headers: str) -> dict:
    reply = lifecycle.client.post("/api/trace-requests", json=body,
                                  headers={**lifecycle.auth("officer"), **headers})
    assert reply.status_code in (200, 201), reply.text
    return dict(reply.json())


def _read(lifecycle: Lifecycle, request_id: int) -> dict:
    return dict(lifecycle.client.get(f"/api/trace-requests/{request_id}",
                                     headers=lifecycle.auth("officer")).json())


def test_queued_while_suspended_then_decided_on_resumption_or_withdrawal(
        lifecycle: Lifecycle) -> None:
    folder = lifecycle.settings.data_dir / "agreements"
    folder.mkdir(exist_ok=True)
    (folder / "suspension-test.toml").write_text(SUSPENDED_PACK, encoding="utf-8")
    offender = lifecycle.world.people.offender
    facts = dict(agreement="tracing-suspension-test", deportation_considered=True,
                 custodial_sentence_months=18, requested_fields=["name", "address"])
    first = _submit(lifecycle, _ask(offender, dt.date(2018, 6, 1), "foreign_national_offender",
                                    None, case_reference="Q-1", **facts))
    assert first["status"] == "queued"
    assert first["decision"]["reasons"][0]["clause"] == "suspended"
    sessions = make_session_factory(lifecycle.engine)

    process_pending(sessions, lifecycle.settings, today=dt.date(2018, 7, 1))
    assert _read(lifecycle, first["id"])["status"] == "queued"  # still suspended

    process_pending(sessions, lifecycle.settings, today=dt.date(2018, 9, 1))  # resumed
    resumed = _read(lifecycle, first["id"])
    assert resumed["status"] == "awaiting_review" and resumed["decision"]["version"] == "2"

    second = _submit(lifecycle, _ask(offender, dt.date(2018, 6, 15), "foreign_national_offender",
                                     None, case_reference="Q-2", **facts))
    assert second["status"] == "queued"
    process_pending(sessions, lifecycle.settings, today=dt.date(2018, 12, 1))  # withdrawn
    withdrawn = _read(lifecycle, second["id"])
    assert withdrawn["status"] == "refused"
    assert withdrawn["decision"]["reasons"][0]["clause"] == "W.1"

    with unit_of_work(lifecycle.engine) as session:
        entries = [json.loads(e) for e in session.scalars(
            select(LedgerEntry.entry).order_by(LedgerEntry.index))]
    steps = [e["type"] for e in entries if e["entity"]["what"] == f"trace-request/{first['id']}"]
    assert steps == ["trace-request-received", "trace-request-decided", "trace-request-decided",
                     "trace-request-traced"]


def test_a_retry_with_the_same_idempotency_key_returns_the_same_request(
        lifecycle: Lifecycle) -> None:
    body = _ask(lifecycle.world.people.overstayer, dt.date(2017, 8, 1), "overstayer", None,
                case_reference="IDEM-1")
    first = lifecycle.client.post("/api/trace-requests", json=body,
                                  headers={**lifecycle.auth("officer"), "Idempotency-Key": "k-1"})
    again = lifecycle.client.post("/api/trace-requests", json=body,
                                  headers={**lifecycle.auth("officer"), "Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    changed = lifecycle.client.post("/api/trace-requests", json={**body, "case_reference": "X"},
                                    headers={**lifecycle.auth("officer"), "Idempotency-Key": "k-1"})
    assert changed.status_code == 409 and changed.json()["resourceType"] == "OperationOutcome"


def test_a_csv_batch_is_received_and_processed(lifecycle: Lifecycle) -> None:
    person = lifecycle.world.people.overstayer
    header = ("given_name,family_name,birth_date,sex,purpose,category,case_reference,"
              "justification,alternatives_exhausted,request_date,requested_fields")
    row = (f"{person.given_name},{person.family_name},{person.birth_date.isoformat()},"
           f"{person.sex},tracing,overstayer,CSV-{{n}},csv batch,true,{{day}},name;address")
    lines = [header] + [row.format(n=n, day="2017-09-01" if n % 2 else "2018-09-01")
                        for n in range(6)]
    reply = lifecycle.client.post("/api/trace-requests/batch", content="\n".join(lines),
                                  headers={**lifecycle.auth("officer"),
                                           "Content-Type": "text/csv"})
    assert reply.status_code == 202, reply.text
    batch = reply.json()
    assert batch["accepted"] == 6
    listed = lifecycle.client.get(f"/api/trace-requests?batch_id={batch['batch_id']}",
                                  headers=lifecycle.auth("officer")).json()
    statuses = sorted(r["status"] for r in listed["items"])
    assert statuses == ["awaiting_review"] * 3 + ["refused"] * 3


def test_a_batch_with_one_bad_row_is_refused_whole(lifecycle: Lifecycle) -> None:
    good = _ask(lifecycle.world.people.overstayer, dt.date(2017, 8, 1), "overstayer", None)
    bad = {**good, "birth_date": "2017-02-30"}
    before = lifecycle.client.get("/api/trace-requests", headers=lifecycle.auth("officer"))
    reply = lifecycle.client.post("/api/trace-requests/batch", json={"requests": [good, bad]},
                                  headers=lifecycle.auth("officer"))
    assert reply.status_code == 422
    assert "requests.1.birth_date" in reply.json()["issue"][0]["diagnostics"]
    after = lifecycle.client.get("/api/trace-requests", headers=lifecycle.auth("officer"))
    assert after.json()["total"] == before.json()["total"]


def test_bad_input_is_an_operation_outcome_never_a_500(lifecycle: Lifecycle) -> None:
    good = _ask(lifecycle.world.people.overstayer, dt.date(2017, 8, 1), "overstayer", None)
    cases = {
        "future request date": ({**good, "request_date": "2999-01-01"}, 422),
        "unknown agreement": ({**good, "agreement": "no-such-agreement"}, 422),
        "control characters": ({**good, "family_name": "Lee\x00"}, 422),
        "unknown field": ({**good, "nhs_number": "9990000018"}, 422),
        "not a field name": ({**good, "requested_fields": ["diagnosis"]}, 422),
        "negative sentence": ({**good, "custodial_sentence_months": -1}, 422),
    }
    for name, (body, status) in cases.items():
        reply = lifecycle.client.post("/api/trace-requests", json=body,
                                      headers=lifecycle.auth("officer"))
        assert reply.status_code == status, (name, reply.text)
        assert reply.json()["resourceType"] == "OperationOutcome", name
    missing = lifecycle.client.get("/api/trace-requests/999999", headers=lifecycle.auth("officer"))
    assert missing.status_code == 404
    unauthenticated = lifecycle.client.get("/api/trace-requests/1")
    assert unauthenticated.status_code == 401
    oversized = lifecycle.client.post("/api/trace-requests/batch",
                                      json={"requests": [good] * 10_001},
                                      headers=lifecycle.auth("officer"))
    assert oversized.status_code == 422


def test_concurrent_retries_and_reviews_make_one_request_and_one_release(
        lifecycle: Lifecycle) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = _ask(lifecycle.world.people.overstayer, dt.date(2017, 10, 2), "overstayer", None,
                case_reference="RACE-1")
    headers = {**lifecycle.auth("officer"), "Idempotency-Key": "race-1"}
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda _: lifecycle.client.post(
            "/api/trace-requests", json=body, headers=headers), range(6)))
    assert sorted(r.status_code for r in replies) == [200] * 5 + [201], [r.text for r in replies]
    assert len({r.json()["id"] for r in replies}) == 1
    request_id = replies[0].json()["id"]
    approve = {"decision": "approve", "reason": "race"}
    with ThreadPoolExecutor(4) as pool:
        reviews = list(pool.map(lambda who: lifecycle.client.post(
            f"/api/trace-requests/{request_id}/review", json=approve,
            headers=lifecycle.auth(who)), ["guardian", "tracing_guardian"] * 2))
    assert sorted(r.status_code for r in reviews) == [200, 409, 409, 409], [r.text for r in reviews]
