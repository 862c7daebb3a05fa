"""Intake (idempotency, batches, bad input) and the queue of a suspended agreement."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from caldicott.db import make_session_factory, unit_of_work
from caldicott.ledger import service as ledger_service
from caldicott.ledger.models import LedgerEntry
from caldicott.requests.scenario import _ask
from caldicott.requests.worker import process_pending
from tests.integration.requests.conftest import Lifecycle


def _submit(lifecycle: Lifecycle, body: dict, **headers: str) -> dict:
    return lifecycle.submit(body, **headers)


def _read(lifecycle: Lifecycle, request_id: int) -> dict:
    return lifecycle.read(request_id)


def test_queued_while_suspended_then_refused_when_the_withdrawal_reaches_the_queue(
        lifecycle: Lifecycle) -> None:
    offender = lifecycle.world.people.offender
    facts = dict(purpose="trace_for_deportation", deportation_stage="considered",
                 requested_fields=["name", "address"], convictions=[{
                     "offence": "robbery", "statute": "Theft Act 1968", "court": "Example Court",
                     "date": "2016-01-04", "sentence_type": "immediate", "length_months": 18}])
    first = _submit(lifecycle, _ask(offender, dt.date(2018, 6, 1), "foreign_national_offender",
                                    None, case_reference="Q-1", **facts))
    assert first["status"] == "under_consideration"  # what the requester may know
    assert _read(lifecycle, first["id"])["internal_status"] == "queued"
    assert _read(lifecycle, first["id"])["decision"]["reasons"][0]["clause"] == "suspended"
    sessions = make_session_factory(lifecycle.engine)

    process_pending(sessions, lifecycle.settings, today=dt.date(2018, 7, 1))
    assert _read(lifecycle, first["id"])["internal_status"] == "queued"  # still suspended

    process_pending(sessions, lifecycle.settings, today=dt.date(2018, 12, 1))  # withdrawn
    withdrawn = lifecycle.read(first["id"], who="officer")
    assert withdrawn["status"] == "refused"
    assert withdrawn["refusal"]["reasons"][0]["clause"] == "W.1"

    with unit_of_work(lifecycle.engine) as session:
        ledger_service.integrate(lifecycle.engine, lifecycle.settings)
        entries = [json.loads(e) for e in session.scalars(
            select(LedgerEntry.entry).order_by(LedgerEntry.index))]
    steps = [e["type"] for e in entries if e["entity"]["what"] == f"trace-request/{first['id']}"
             and e["type"] != "read"]
    assert steps == ["trace-request-received", "trace-request-decided", "trace-request-decided",
                     "trace-request-closed"]


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
              "justification,alternatives_exhausted,request_date,requested_fields,"
              "requesting_officer,countersigning_officer,postcode,"
              "suspected_offence.statute,suspected_offence.section")
    row = (f"{person.given_name},{person.family_name},{person.birth_date.isoformat()},"
           f"{person.sex},{{purpose}},overstayer,CSV-{{n}},csv batch,true,{{day}},name;address,"
           f"HO-1001,HO-2001,{person.addresses[0].postcode},Immigration Act 1971,24(1)(b)")
    lines = [header] + [row.format(n=n, day="2017-09-01" if n % 2 else "2018-09-01",
                                   purpose="trace_immigration_offender" if n % 2
                                   else "trace_for_deportation") for n in range(6)]
    reply = lifecycle.client.post("/api/trace-requests/batch", content="\n".join(lines),
                                  headers={**lifecycle.auth("officer"),
                                           "Content-Type": "text/csv"})
    assert reply.status_code == 202, reply.text
    batch = reply.json()
    assert batch["accepted"] == 6
    listed = lifecycle.client.get(f"/api/trace-requests?batch_id={batch['batch_id']}",
                                  headers=lifecycle.auth("officer")).json()
    statuses = sorted(r["status"] for r in listed["items"])
    # 2017: received and checked, awaiting a tracer; 2018: queued (the MoU is suspended).
    assert statuses == ["under_consideration"] * 6
    staff = lifecycle.client.get(f"/api/trace-requests?batch_id={batch['batch_id']}",
                                 headers=lifecycle.auth("tracer")).json()
    assert sorted(r["status"] for r in staff["items"]) == (
        ["awaiting_validation"] * 3 + ["queued"] * 3)


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
        "an agreement picked by the requester": ({**good, "agreement": "tracing-mou"}, 422),
        "control characters": ({**good, "family_name": "Lee\x00"}, 422),
        "unknown field": ({**good, "nhs_number": "9990000018"}, 422),
        "not a field name": ({**good, "requested_fields": ["diagnosis"]}, 422),
        "negative sentence": ({**good, "convictions": [{
            "offence": "x", "statute": "y", "court": "z", "date": "2016-01-01",
            "sentence_type": "immediate", "length_months": -1}]}, 422),
        "a lone surrogate": ({**good, "justification": "\ud800"}, 422),
    }
    for name, (body, status) in cases.items():
        # Sent as JSON text with escapes, as a client would send a lone surrogate.
        reply = lifecycle.client.post("/api/trace-requests", content=json.dumps(body),
                                      headers={**lifecycle.auth("officer"),
                                               "Content-Type": "application/json"})
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
    assert lifecycle.validate(request_id).status_code == 200
    assert lifecycle.weigh(request_id).status_code == 200
    approve = {"decision": "approve", "reason": "race"}
    with ThreadPoolExecutor(4) as pool:
        reviews = list(pool.map(lambda who: lifecycle.client.post(
            f"/api/trace-requests/{request_id}/review", json=approve,
            headers=lifecycle.auth(who)), ["guardian", "second_guardian"] * 2))
    assert sorted(r.status_code for r in reviews) == [200, 409, 409, 409], [r.text for r in reviews]
