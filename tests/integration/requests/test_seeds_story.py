"""The seeds' story end to end through HTTP in the National Back Office's order, on SQLite and
PostgreSQL (issue 19, must show 1 and 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import select

from caldicott.db import make_session_factory, unit_of_work
from caldicott.ledger import service as ledger_service
from caldicott.ledger.models import LedgerEntry
from caldicott.requests.reports import guardian_report
from caldicott.requests.scenario import ScenarioStep, play
from caldicott.requests.worker import process_pending
from tests.integration.requests.conftest import Lifecycle

NBO_ORDER = ["trace-request-received", "trace-request-decided", "trace-request-validated",
             "trace-request-public-interest", "trace-request-traced"]


def _ledger_steps(lifecycle: Lifecycle) -> dict[str, list[str]]:
    # PostgreSQL: the entries of the last commits may still be queued; put them in the tree.
    ledger_service.integrate(lifecycle.engine, lifecycle.settings)
    with unit_of_work(lifecycle.engine) as session:
        entries = list(session.scalars(select(LedgerEntry.entry).order_by(LedgerEntry.index)))
    steps: dict[str, list[str]] = {}
    for entry in entries:
        event = json.loads(entry)
        if event["type"] != "read":  # who read the request is recorded too; not a step
            steps.setdefault(event["entity"]["what"], []).append(event["type"])
    return steps


def _trace_count(lifecycle: Lifecycle) -> tuple[int, int]:
    with unit_of_work(lifecycle.engine) as session:
        trace = guardian_report(session).channels["trace"]
    return trace.disclosures, trace.now_refused


def _story(lifecycle: Lifecycle) -> dict[str, ScenarioStep]:
    sessions = make_session_factory(lifecycle.engine)
    steps = play(lifecycle.client, lifecycle.world,
                 lambda day: process_pending(sessions, lifecycle.settings, day))
    return {s.label: s for s in steps}


def test_seeds_story_in_the_nbo_order(lifecycle: Lifecycle) -> None:
    before = _trace_count(lifecycle)
    steps = _story(lifecycle)
    people = lifecycle.world.people
    ledger = _ledger_steps(lifecycle)

    released = steps["2017: overstayer validated, weighed, traced, released"]
    assert released.status == "released"
    assert [a.split()[0:2] for a in released.actions] == [
        ["officer", "submit"], ["tracer", "validate"], ["guardian", "public-interest"],
        ["guardian", "review"]]
    patient = released.response["release"]["resource"]
    assert patient["name"][0]["family"] == people.overstayer.family_name
    assert patient["address"][0]["postalCode"] == people.overstayer.last_known_address.postcode
    assert "identifier" not in patient  # no NHS number leaves
    assert ledger[f"trace-request/{released.request_id}"] == [
        *NBO_ORDER, "trace-request-reviewed", "disclosure", "trace-request-closed"]

    # Must show 1: a request without a valid countersignature is rejected before any trace.
    unsigned = steps["2017: no countersignature: rejected before any trace"]
    assert unsigned.status == "rejected_procedure"
    assert unsigned.response["status"] == "refused"
    assert unsigned.response["refusal"]["kind"] == "procedure"
    assert "missing_countersignature" in {r["clause"] for r in
                                          unsigned.response["refusal"]["reasons"]}
    assert ledger[f"trace-request/{unsigned.request_id}"] == [
        "trace-request-received", "trace-request-validated", "trace-request-closed"]

    # Nothing released reads the same whatever the reason: restricted, namesakes, absent.
    closed = [steps[label] for label in ("2017: restricted patient (closed, nothing released)",
                                         "2017: namesakes with one date of birth",
                                         "2017: a person not on the register")]
    assert [s.status for s in closed] == ["refused_after_review", "too_many_matches",
                                          "no_trace"]
    shown = [{k: v for k, v in s.response.items() if k not in _OWN_WORDS} for s in closed]
    assert all(view == shown[0] for view in shown), shown
    assert shown[0]["status"] == "closed" and shown[0]["release"] is None

    # The suspension: queued from 9 May 2018; the withdrawal reaches the queue and refuses.
    for label in ("after 9 May 2018: the same overstayer (suspended: queued)",
                  "after 9 May 2018: offender, 18 months (suspended: queued)"):
        step = steps[label]
        assert step.status == "refused_agreement", step.line()
        assert step.response["refusal"]["reasons"][0]["clause"] == "W.1"
        kinds = ledger[f"trace-request/{step.request_id}"]
        assert kinds == ["trace-request-received", "trace-request-decided",
                         "trace-request-decided", "trace-request-closed"]
    assert steps["after 9 Nov 2018: offender, 18 months"].status == "refused_agreement"

    # The Guardian's question after 9 May 2018: what did we already give the Home Office
    # about people whose tracing would now be refused?
    # The story released one thing to the Home Office (the 2017 overstayer); under the
    # narrowed memorandum that tracing would be refused.
    with unit_of_work(lifecycle.engine) as session:
        report = guardian_report(session)
    after = _trace_count(lifecycle)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
    assert report.version == "2" and report.clauses
    assert report.channels["trace"].people_now_refused >= 1

    env = {**os.environ, "CALDICOTT_DATABASE_URL": lifecycle.settings.resolved_database_url,
           "CALDICOTT_DATA_DIR": str(lifecycle.settings.data_dir),
           "CALDICOTT_SECRET_KEY": lifecycle.settings.secret_key}
    verify = subprocess.run([sys.executable, "-m", "caldicott", "ledger", "verify"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr


#: What differs between any two requests whatever happened to them: their own words.
_OWN_WORDS = {"id", "subject", "case_reference", "received_at", "request_date", "category",
              "facts", "requested_by"}


def test_a_police_request_and_a_court_order_end_to_end(lifecycle: Lifecycle) -> None:
    steps = _story(lifecycle)
    police = steps["2019: police, DPA 2018 Sch 2 para 2, inspector countersigned"]
    assert police.status == "released", police.line()
    assert police.response["agreement"] == "police-crime-exemption"
    assert [a.split()[1] for a in police.actions] == [
        "submit", "validate", "public-interest", "review"]

    sergeant = steps["2019: police, countersigned by a sergeant: rejected"]
    assert sergeant.status == "rejected_procedure"
    assert {r["clause"] for r in sergeant.response["refusal"]["reasons"]} == {
        "countersignatory_rank_too_low"}

    court = steps["2019: court order (must disclose)"]
    assert court.status == "released", court.line()
    assert court.response["agreement"] == "court-order"
    # A court order: no public-interest balancing and no sign-off: released once traced.
    assert [a.split()[1] for a in court.actions] == ["submit", "validate"]
    assert set(court.response["release"]["fields"]) == {"name", "date_of_birth", "address"}


def test_a_released_request_cannot_be_reviewed_again(lifecycle: Lifecycle) -> None:
    released = next(s for s in _story(lifecycle).values() if s.status == "released")
    again = lifecycle.review(released.request_id or 0)
    assert again.status_code == 409
    assert again.json()["resourceType"] == "OperationOutcome"
