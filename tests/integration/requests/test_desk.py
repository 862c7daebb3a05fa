"""The reviewer's desk (issue 12): the queue oldest first with ages, who may act and why,
the candidates with their waterfalls, and exactly what an approval would send."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from caldicott.access import service as access
from caldicott.access.core.principal import Principal
from caldicott.db import unit_of_work
from caldicott.errors import Forbidden
from caldicott.ledger import service as ledger_service
from caldicott.ledger.models import LedgerEntry
from caldicott.requests import desk, repository
from caldicott.requests.scenario import _ask, last_postcode
from caldicott.requests.world import STAFF
from tests.integration.requests.conftest import Lifecycle


def _principal(lifecycle: Lifecycle, who: str) -> Principal:
    with unit_of_work(lifecycle.engine) as session:
        organisation = STAFF[who][0].lower()
        user = access.get_user(session, f"{who.replace('_', '.')}@{organisation}.example")
        return access.principal_of(user)


def _body(person: Any, reference: str) -> dict[str, Any]:
    return _ask(person, dt.date(2017, 6, 1), "overstayer", last_postcode(person),
                case_reference=reference)


def _whole_queue(lifecycle: Lifecycle, who: str, limit: int) -> list[desk.QueueItem]:
    principal, items, after = _principal(lifecycle, who), [], None
    while True:
        with unit_of_work(lifecycle.engine) as session:
            page = desk.review_queue(session, lifecycle.settings, principal, after, limit)
        items.extend(page.items)
        if page.next_after is None:
            return items
        after = page.next_after


def _item(lifecycle: Lifecycle, request_id: int, who: str = "guardian") -> desk.QueueItem:
    found = [i for i in _whole_queue(lifecycle, who, 50) if i.request.id == request_id]
    assert len(found) == 1
    return found[0]


def test_the_queue_is_oldest_first_paged_without_gaps_and_with_ages(lifecycle: Lifecycle) -> None:
    first = lifecycle.to_review(_body(lifecycle.world.people.overstayer, "DESK-1"))
    second = lifecycle.to_review(_body(lifecycle.world.people.offender, "DESK-2"))
    paged = _whole_queue(lifecycle, "guardian", 2)
    ids = [i.request.id for i in paged]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert ids.index(first) < ids.index(second)
    with unit_of_work(lifecycle.engine) as session:
        waiting = repository.count_waiting(session, tuple(desk.TASKS), None)
        page = desk.review_queue(session, lifecycle.settings, _principal(lifecycle, "guardian"))
    assert len(ids) == waiting == page.total
    assert {i.request.internal_status for i in paged} <= {"awaiting_review",
                                                          "awaiting_public_interest"}
    item = next(i for i in paged if i.request.id == first)
    assert item.task == "review_release"
    assert dt.timedelta(0) <= item.age < dt.timedelta(minutes=10)
    assert item.waiting <= item.age
    assert item.request.decision is not None and item.clauses
    assert item.fields_leaving and set(item.fields_leaving) <= set(
        item.request.decision.released_fields)


def test_a_request_awaiting_the_public_interest_test_is_on_the_queue(lifecycle: Lifecycle) -> None:
    request_id = int(lifecycle.submit(_body(lifecycle.world.people.offender, "DESK-PI"))["id"])
    assert lifecycle.validate(request_id).status_code == 200
    item = _item(lifecycle, request_id)
    assert item.task == "public_interest" and item.may_act.allowed
    assert item.fields_leaving == ()


def test_a_reviewer_who_traced_sees_why_they_cannot_act(lifecycle: Lifecycle) -> None:
    request_id = lifecycle.to_review(_body(lifecycle.world.people.overstayer, "DESK-T"))
    assert _item(lifecycle, request_id, "tracing_guardian").may_act.allowed
    retraced = lifecycle.post(request_id, "trace", {}, "tracing_guardian")
    assert retraced.status_code == 200, retraced.text
    item = _item(lifecycle, request_id, "tracing_guardian")
    assert not item.may_act.allowed
    assert item.may_act.reason.startswith("you traced this request; another reviewer must")
    refused = lifecycle.review(request_id, who="tracing_guardian")
    assert refused.status_code == 403 and item.may_act.reason in refused.text
    assert _item(lifecycle, request_id, "guardian").may_act.allowed


def test_the_desk_explains_the_trace_and_shows_exactly_what_would_leave(
        lifecycle: Lifecycle) -> None:
    request_id = lifecycle.to_review(_body(lifecycle.world.people.overstayer, "DESK-W"))
    with unit_of_work(lifecycle.engine) as session:
        file = desk.review_desk(session, lifecycle.settings, _principal(lifecycle, "guardian"),
                                request_id)
        row = repository.get(session, request_id)
        assert row is not None
        matched = row.matched_nhs_number
    leader = file.candidates[0]
    assert leader.is_match and file.note is None
    assert leader.match_probability == row.match_probability  # the trace's own number
    assert leader.waterfall.rows[-1].weight == leader.match_weight
    assert leader.waterfall.rows[-2].end == leader.match_weight
    assert "role=\"img\"" in leader.svg("c1")
    assert file.leaving is not None and file.leaving.fields == file.item.fields_leaving
    approved = lifecycle.review(request_id)
    assert approved.status_code == 200, approved.text
    release = approved.json()["release"]
    assert release["fields"] == list(file.leaving.fields)
    assert release["resource"] == file.leaving.resource
    assert matched is not None and matched not in repr(file)  # never named on the desk


def test_the_queue_and_the_desk_are_reads_in_the_ledger(lifecycle: Lifecycle) -> None:
    request_id = lifecycle.to_review(_body(lifecycle.world.people.offender, "DESK-L"))
    guardian = _principal(lifecycle, "guardian")
    with unit_of_work(lifecycle.engine) as session:
        desk.review_queue(session, lifecycle.settings, guardian)
        desk.review_desk(session, lifecycle.settings, guardian, request_id)
    ledger_service.integrate(lifecycle.engine, lifecycle.settings)
    with unit_of_work(lifecycle.engine) as session:
        entries = [json.loads(e) for e in session.scalars(
            select(LedgerEntry.entry).order_by(LedgerEntry.index.desc()).limit(2))]
    assert {e["entity"]["what"] for e in entries} == {"review-queue",
                                                     f"trace-request/{request_id}"}
    assert all(e["agent"]["who"] == f"user/{guardian.user_id}" for e in entries)


@pytest.mark.parametrize("who", ["officer", "tracer", "auditor"])
def test_only_reviewers_have_a_queue(lifecycle: Lifecycle, who: str) -> None:
    principal = _principal(lifecycle, who)
    with unit_of_work(lifecycle.engine) as session, pytest.raises(Forbidden):
        desk.review_queue(session, lifecycle.settings, principal)
