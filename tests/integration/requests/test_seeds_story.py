"""Must show 1: the seeds' story end to end through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import select

from caldicott.db import unit_of_work
from caldicott.ledger import service as ledger_service
from caldicott.ledger.models import LedgerEntry
from caldicott.requests.scenario import play
from tests.integration.requests.conftest import Lifecycle


def _ledger_steps(lifecycle: Lifecycle) -> dict[str, list[str]]:
    # PostgreSQL: the entries of the last commits may still be queued; put them in the tree.
    ledger_service.integrate(lifecycle.engine, lifecycle.settings)
    # Read the leaves directly: ledger.repository.entries_between warns (Result.tuples()).
    with unit_of_work(lifecycle.engine) as session:
        entries = list(session.scalars(select(LedgerEntry.entry).order_by(LedgerEntry.index)))
    steps: dict[str, list[str]] = {}
    for entry in entries:
        event = json.loads(entry)
        steps.setdefault(event["entity"]["what"], []).append(event["type"])
    return steps


def test_seeds_story_end_to_end(lifecycle: Lifecycle) -> None:
    steps = {s.label: s for s in play(lifecycle.client, lifecycle.world)}
    people = lifecycle.world.people

    overstayer_2017 = steps["2017: overstayer traced, reviewed, released"]
    assert overstayer_2017.status == "released"
    patient = overstayer_2017.response["release"]["resource"]
    assert patient["resourceType"] == "Patient"
    assert patient["name"][0]["family"] == people.overstayer.family_name
    assert patient["address"][0]["postalCode"] == people.overstayer.last_known_address.postcode
    assert "identifier" not in patient  # no NHS number leaves
    assert overstayer_2017.response["release"]["new_information"] is True  # they had an old one

    refused_2018 = steps["after 9 May 2018: the same overstayer"].response
    assert refused_2018["status"] == "refused" and refused_2018["release"] is None
    assert refused_2018["decision"]["version"] == "2"
    quoted = {r["clause"]: r["text"] for r in refused_2018["decision"]["reasons"]}
    assert "considered for deportation" in quoted["2.1"]
    assert "12 months or more" in " ".join(quoted["2.2"].split())

    offender = steps["after 9 May 2018: offender, 18-month sentence"].response
    assert offender["status"] == "released"
    assert offender["review"]["decision"] == "approve"
    assert offender["review"]["reviewed_by"] == lifecycle.world.user_ids["guardian"]

    for label in ("after 9 Nov 2018: offender, 18-month sentence", "after 9 Nov 2018: overstayer"):
        after = steps[label].response
        assert after["status"] == "refused" and after["release"] is None
        assert after["decision"]["reasons"][0]["clause"] == "W.1"

    restricted = steps["2017: restricted patient (no address or GP may leave)"].response
    assert restricted["status"] == "released"
    resource = restricted["release"]["resource"]
    assert "address" not in resource and "generalPractitioner" not in resource
    assert "contained" not in resource
    assert set(restricted["release"]["fields"]) == {"name", "date_of_birth"}

    ambiguous = steps["2017: namesakes with one date of birth"].response
    assert ambiguous["status"] == "too_many_matches" and ambiguous["closed"] is True
    assert ambiguous["release"] is None

    ledger_steps = _ledger_steps(lifecycle)
    released = ["trace-request-received", "trace-request-decided", "trace-request-traced",
                "trace-request-reviewed", "disclosure", "trace-request-closed"]
    by_status = {
        "released": released,
        "refused": ["trace-request-received", "trace-request-decided", "trace-request-closed"],
        "too_many_matches": ["trace-request-received", "trace-request-decided",
                             "trace-request-traced", "trace-request-closed"]}
    for step in steps.values():  # every step of every request of the story, in order
        assert ledger_steps[f"trace-request/{step.request_id}"] == by_status[step.status], step
    assert len(steps) == 7

    env = {**os.environ, "CALDICOTT_DATABASE_URL": lifecycle.settings.resolved_database_url,
           "CALDICOTT_DATA_DIR": str(lifecycle.settings.data_dir),
           "CALDICOTT_SECRET_KEY": lifecycle.settings.secret_key}
    verify = subprocess.run([sys.executable, "-m", "caldicott", "ledger", "verify"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_released_request_cannot_be_reviewed_again(lifecycle: Lifecycle) -> None:
    steps = play(lifecycle.client, lifecycle.world)
    released = next(s for s in steps if s.status == "released")
    again = lifecycle.client.post(f"/api/trace-requests/{released.request_id}/review",
                                  json={"decision": "approve", "reason": "twice"},
                                  headers=lifecycle.auth("guardian"))
    assert again.status_code == 409
    assert again.json()["resourceType"] == "OperationOutcome"
