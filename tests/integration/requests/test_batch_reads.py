"""A batch's progress and results as each viewer may see them: the requester in the
requester's words, staff every status, another organisation nothing (404)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from caldicott.access.core.principal import Principal
from caldicott.access.service import get_user, principal_of
from caldicott.db import unit_of_work
from caldicott.errors import NotFound
from caldicott.ledger import service as ledger_service
from caldicott.ledger.models import LedgerEntry
from caldicott.requests import batches
from caldicott.requests.world import staff_email
from tests.integration.requests.conftest import Lifecycle

_POLICE = {"purpose": "prevention_or_detection_of_crime", "category": "serious_crime",
           "justification": "Robbery inquiry.", "requested_fields": ["name", "address"],
           "alternatives_exhausted": True, "requesting_officer": "PC-4521",
           "countersigning_officer": "DI-1234"}


def _principal(lifecycle: Lifecycle, who: str) -> Principal:
    with unit_of_work(lifecycle.engine) as session:
        return principal_of(get_user(session, staff_email(who)))


def _batch(lifecycle: Lifecycle) -> str:
    person = lifecycle.world.people.offender
    subject = {"given_name": person.given_name, "family_name": person.family_name,
               "birth_date": person.birth_date.isoformat()}
    offence = {"suspected_offence": {"statute": "Theft Act 1968", "section": "8"}}
    requests: list[dict[str, Any]] = [
        {**_POLICE, **subject, **offence, "case_reference": "B-1"},
        {**_POLICE, **subject, **offence, "case_reference": "B-2"},
        {**_POLICE, **subject, "case_reference": "B-3"}]  # no offence: rejected
    reply = lifecycle.client.post("/api/trace-requests/batch", json={"requests": requests},
                                  headers=lifecycle.auth("police_officer"))
    assert reply.status_code == 202, reply.text
    return str(reply.json()["batch_id"])


def test_a_batch_reads_in_each_viewers_words(lifecycle: Lifecycle) -> None:
    batch_id = _batch(lifecycle)  # TestClient runs the background work before returning
    officer, tracer, stranger = (_principal(lifecycle, who) for who in
                                 ("police_officer", "tracer", "other_officer"))
    with unit_of_work(lifecycle.engine) as session:
        seen = batches.progress(session, officer, batch_id)
        staff = batches.progress(session, tracer, batch_id)
        with pytest.raises(NotFound):
            batches.progress(session, stranger, batch_id)
        with pytest.raises(NotFound):
            batches.progress(session, officer, "0" * 32)
    assert (seen.total, seen.checked, seen.done, seen.percent) == (3, 3, True, 100)
    assert seen.counts == (("under_consideration", 2), ("refused", 1))
    assert staff.counts == (("rejected_procedure", 1), ("awaiting_validation", 2))


def test_reading_a_batchs_results_is_recorded_in_the_ledger(lifecycle: Lifecycle) -> None:
    batch_id = _batch(lifecycle)
    officer = _principal(lifecycle, "police_officer")
    with unit_of_work(lifecycle.engine) as session:
        shown = batches.results(session, lifecycle.settings, officer, batch_id)
    ledger_service.integrate(lifecycle.engine, lifecycle.settings)
    with unit_of_work(lifecycle.engine) as session:
        last = json.loads(session.scalars(select(LedgerEntry.entry).order_by(
            LedgerEntry.index.desc()).limit(1)).one())
    assert [r.case_reference for r in shown] == ["B-1", "B-2", "B-3"]
    assert [r.status for r in shown] == ["under_consideration", "under_consideration",
                                         "refused"]
    assert shown[2].refusal is not None
    assert [r.clause for r in shown[2].refusal.reasons] == ["no_offence_given"]
    assert last["entity"]["what"] == "trace-request-batch"
    assert last["agent"]["who"] == f"user/{officer.user_id}"
