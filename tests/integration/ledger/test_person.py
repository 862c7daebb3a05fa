"""One person across channels: every entry about a patient, found through the private keyed
index, for reviewers and auditors only (API and CLI), each patient seeing only their own."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import select

from caldicott.db import unit_of_work
from caldicott.register.records import PatientRecord
from caldicott.requests.models import TraceRequestRow
from caldicott.requests.scenario import _ask
from tests.integration.requests.conftest import Lifecycle, lifecycle  # noqa: F401 (fixture)


def _released(lifecycle: Lifecycle, person: PatientRecord, reference: str) -> int:  # noqa: F811
    """A request about ``person``, traced and released after review; its id."""
    body = _ask(person, dt.date(2017, 6, 1), "overstayer", None, case_reference=reference)
    request_id = lifecycle.to_review(body)
    reply = lifecycle.review(request_id)
    assert reply.status_code == 200 and reply.json()["status"] == "released", reply.text
    return request_id


def _report(lifecycle: Lifecycle, who: str, nhs: str) -> Any:  # noqa: F811
    reply = lifecycle.client.get("/api/ledger/person", params={"nhs_number": nhs},
                                 headers=lifecycle.auth(who))
    assert reply.status_code == 200, reply.text
    return reply.json()


def _requests_in(report: Any) -> set[int]:
    return {int(e["request"].split("/")[1]) for channel in report["channels"]
            for e in channel["entries"] if e["request"].startswith("trace-request/")}


def _matched(lifecycle: Lifecycle, request_ids: set[int]) -> set[str | None]:  # noqa: F811
    with unit_of_work(lifecycle.engine) as session:
        return set(session.scalars(select(TraceRequestRow.matched_nhs_number)
                                   .where(TraceRequestRow.id.in_(request_ids))))


@pytest.fixture()
def two_people(lifecycle: Lifecycle) -> tuple[tuple[str, int], tuple[str, int]]:  # noqa: F811
    people = lifecycle.world.people
    return ((people.overstayer.nhs_number, _released(lifecycle, people.overstayer, "pr-one")),
            (people.offender.nhs_number, _released(lifecycle, people.offender, "pr-two")))


def test_a_reviewer_sees_every_entry_about_one_person_by_channel_and_only_theirs(
        lifecycle: Lifecycle, two_people: tuple[tuple[str, int], tuple[str, int]]  # noqa: F811
) -> None:
    (one, one_request), (two, two_request) = two_people
    report = _report(lifecycle, "guardian", one)
    trace = next(c for c in report["channels"] if c["channel"] == "trace")
    mine = [e for e in trace["entries"] if e["request"] == f"trace-request/{one_request}"]
    steps = [e["type"] for e in mine if e["type"] != "read"]
    assert steps == ["trace-request-traced", "trace-request-reviewed", "disclosure",
                     "trace-request-closed"][-len(steps):]
    assert "disclosure" in {e["type"] for e in mine} and trace["disclosures"] >= 1
    disclosure = next(e for e in mine if e["type"] == "disclosure")
    assert disclosure["recipient_organisation"] == "HO-IE"
    assert disclosure["agreement"] and disclosure["agreement_version"]
    assert disclosure["recorded"].startswith(str(dt.date.today().year))
    assert two_request not in _requests_in(report)
    assert _matched(lifecycle, _requests_in(report)) == {one}
    other = _report(lifecycle, "auditor", two)
    assert one_request not in _requests_in(other) and two_request in _requests_in(other)
    assert _matched(lifecycle, _requests_in(other)) == {two}


def test_the_lookup_is_itself_in_the_ledger_and_post_keeps_the_number_out_of_the_address(
        lifecycle: Lifecycle, two_people: tuple[tuple[str, int], tuple[str, int]]  # noqa: F811
) -> None:
    (one, _), _ = two_people
    before = _report(lifecycle, "auditor", one)
    reply = lifecycle.client.post("/api/ledger/person", json={"nhs_number": one},
                                  headers=lifecycle.auth("guardian"))
    assert reply.status_code == 200, reply.text
    lookups = next(c for c in reply.json()["channels"] if c["channel"] == "lookup")
    assert any(e["type"] == "ledger-person-report" and e["actor_organisation"] == "X26"
               for e in lookups["entries"])
    assert reply.json()["total"] > before["total"] - 1


@pytest.mark.parametrize(("who", "status"), [("officer", 403), ("tracer", 403), ("admin", 403),
                                             ("nobody", 401)])
def test_only_reviewers_and_auditors_may_ask(lifecycle: Lifecycle, who: str,  # noqa: F811
                                             status: int) -> None:
    headers = {} if who == "nobody" else lifecycle.auth(who)
    nhs = lifecycle.world.people.overstayer.nhs_number
    for reply in (lifecycle.client.get("/api/ledger/person", params={"nhs_number": nhs},
                                       headers=headers),
                  lifecycle.client.post("/api/ledger/person", json={"nhs_number": nhs},
                                        headers=headers)):
        assert reply.status_code == status, reply.text
        assert reply.json()["resourceType"] == "OperationOutcome"
        assert "trace-request/" not in reply.text


@pytest.mark.parametrize("bad", ["9990000019", "12345", "99900000181", "abcdefghij"])
def test_a_bad_nhs_number_is_a_4xx_that_does_not_repeat_it(lifecycle: Lifecycle,  # noqa: F811
                                                           bad: str) -> None:
    reply = lifecycle.client.get("/api/ledger/person", params={"nhs_number": bad},
                                 headers=lifecycle.auth("guardian"))
    assert reply.status_code in (400, 422), reply.text
    assert bad not in reply.text


def test_the_cli_reports_one_person_by_channel(
        lifecycle: Lifecycle, two_people: tuple[tuple[str, int], tuple[str, int]]  # noqa: F811
) -> None:
    (one, one_request), (_, two_request) = two_people
    settings = lifecycle.settings
    env = os.environ | {"CALDICOTT_DATABASE_URL": settings.resolved_database_url,
                        "CALDICOTT_DATA_DIR": str(settings.data_dir),
                        "CALDICOTT_SECRET_KEY": settings.secret_key,
                        "CALDICOTT_ENVIRONMENT": "test"}
    result = subprocess.run([sys.executable, "-m", "caldicott", "ledger", "person", "-"],
                            input=f"{one}\n", env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^trace: \d+ entries, [1-9]\d* disclosures$", result.stdout, re.M)
    assert f"trace-request/{one_request}\n" in result.stdout
    assert f"trace-request/{two_request}\n" not in result.stdout
    assert "disclosure" in result.stdout and "to HO-IE" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "caldicott", "ledger", "person", "9990000019"],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
    assert "9990000019" not in bad.stderr and "Traceback" not in bad.stderr
