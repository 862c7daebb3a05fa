"""Stored decisions, replayed under another version or reading: each request once, by its
latest decision, as of its own date; with the releases and people that touches."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy.orm import Session

from caldicott.access.service import add_user
from caldicott.agreements.core import (
    DebtReferralRequest,
    Outcome,
    TraceRequest,
    decide,
    load_packs,
)
from caldicott.agreements.service import decide_and_record, record_decision, replay
from caldicott.errors import NotFound
from caldicott.orgs.service import add_organisation
from caldicott.requests.models import TraceReleaseRow, TraceRequestRow
from tests.factories import synthetic_nhs_numbers

PACKS = load_packs()
MOU = PACKS.agreements["tracing-mou"]
D = dt.date.fromisoformat
FIELDS = frozenset({"name", "date_of_birth", "address"})
OVERSTAYER = TraceRequest("home-office", FIELDS, category="overstayer", alternatives_exhausted=True)
OFFENDER = TraceRequest(
    "home-office",
    FIELDS,
    purpose="trace_for_deportation",
    category="foreign_national_offender",
    deportation_considered=True,
    custodial_sentence_months=18,
    qualifying_sentence_months=18,
    alternatives_exhausted=True,
)


def _request_row(session: Session, day: str, nhs: str | None, released: bool) -> str:
    """A stored trace request (and its release, if ``released``); returns its request_ref."""
    # Letters only: a code shaped like a postcode is refused by the ledger.
    code = "T" + "".join(chr(65 + int(c, 16)) for c in uuid.uuid4().hex[:7])
    organisation = add_organisation(session, code, "Synthetic Home Office team", "home_office")
    user = add_user(session, f"{code.lower()}@example.org", code, ["requesting_officer"])
    row = TraceRequestRow(
        organisation_id=organisation.id, requested_by=user.id, fingerprint="0" * 64,
        request_date=D(day), agreement="tracing-mou", given_name="Amara",
        family_name="Okafor-Testperson", birth_date=D("1984-03-14"), purpose="trace",
        category="overstayer", case_reference="HO-TEST", justification="test",
        requested_fields=sorted(FIELDS), status="released" if released else "refused_agreement",
        matched_nhs_number=nhs)
    session.add(row)
    session.flush()
    if released:
        session.add(TraceReleaseRow(request_id=row.id, fields=sorted(FIELDS), resource={},
                                    new_information=True))
        session.flush()
    return f"trace-request/{row.id}"


def test_a_decision_is_stored_with_its_request_and_purpose_code(session: Session) -> None:
    decision = decide(OFFENDER, D("2018-06-01"), MOU)
    stored = record_decision(session, OFFENDER, decision, request_ref="trace-request/7")
    assert (stored.agreement, stored.version, stored.outcome) == ("tracing-mou", "2.1", "queue")
    assert (stored.request_ref, stored.purpose) == ("trace-request/7", "trace_for_deportation")
    assert stored.content_hash == decision.content_hash
    assert "name" not in stored.request_facts  # facts for policy, no personal identifiers


def test_a_request_decided_twice_counts_once_by_its_latest_decision(session: Session) -> None:
    # Queued in June 2018 under the suspended memorandum; the withdrawal reaches the queue.
    queued = decide_and_record(session, OFFENDER, D("2018-06-01"), MOU,
                               request_ref="trace-request/1")
    refused = decide_and_record(session, OFFENDER, D("2018-12-01"), MOU,
                                request_ref="trace-request/1")
    decide_and_record(session, OVERSTAYER, D("2017-06-01"), MOU, request_ref="trace-request/2")
    assert (queued.outcome, refused.outcome) == (Outcome.QUEUE, Outcome.DENY)
    report = replay(session, "firewall", "1", decisions_of="tracing-mou", packs=PACKS)
    assert (report.requests, report.decisions_read) == (2, 3)
    assert dict(report.changes) == {"permit -> deny": 1}


def test_the_two_readings_of_the_suspension_differ_on_the_queued_request(
    session: Session,
) -> None:
    decide_and_record(session, OVERSTAYER, D("2017-06-01"), MOU, request_ref="trace-request/1")
    decide_and_record(session, OFFENDER, D("2018-06-01"), MOU, request_ref="trace-request/2")
    decide_and_record(session, OFFENDER, D("2018-12-01"), MOU, request_ref="trace-request/2")
    decide_and_record(session, OVERSTAYER, D("2018-07-01"), MOU, request_ref="trace-request/3")
    decide_and_record(session, OVERSTAYER, D("2018-12-01"), MOU, request_ref="trace-request/3")
    report = replay(session, "tracing-mou-narrowed", None, decisions_of="tracing-mou",
                    packs=PACKS)
    assert (report.requests, report.outside) == (2, 1)  # the 2017 request: before the readings
    assert dict(report.changes) == {"deny -> permit": 1}
    [flip] = report.flips
    assert (flip.request_ref, flip.as_of, flip.now_version) == (
        "trace-request/2", D("2018-06-01"), "2.1")


def test_replay_counts_releases_and_people(session: Session) -> None:
    numbers = synthetic_nhs_numbers(4100)
    alice, bob = next(numbers), next(numbers)
    for day, who, released in [("2017-03-01", alice, True), ("2017-06-01", alice, True),
                               ("2017-09-01", bob, True), ("2017-10-01", bob, False)]:
        ref = _request_row(session, day, who, released)
        decide_and_record(session, OVERSTAYER, D(day), MOU, request_ref=ref)
    report = replay(session, "firewall", "1", decisions_of="tracing-mou", packs=PACKS)
    assert (report.requests, report.releases, report.releases_refused) == (4, 3, 3)
    assert (report.people, report.people_spared) == (2, 2)
    same = replay(session, "tracing-mou", "1", packs=PACKS)
    assert (same.releases, same.releases_refused, same.people, same.people_spared) == (3, 0, 2, 0)


def test_decisions_stored_without_a_request_each_count_alone(session: Session) -> None:
    decide_and_record(session, OVERSTAYER, D("2017-06-01"), MOU)
    request = DebtReferralRequest(
        "trust-rj1", frozenset({"name"}), debt_pence=60000,
        treatment_date=D("2017-03-01"), invoice_date=D("2017-03-01"))
    debt = decide_and_record(session, request, D("2017-06-01"), PACKS.agreements["debt-referral"])
    assert debt.outcome is Outcome.PERMIT
    report = replay(session, "firewall", "1", decisions_of=None, packs=PACKS)
    assert report.requests == 2
    assert dict(report.changes) == {"permit -> deny": 2}


def test_replay_of_an_unknown_version_names_the_known_ones(session: Session) -> None:
    with pytest.raises(NotFound, match=r"versions: 1, 1.1, 2, 2.1, 3-withdrawn"):
        replay(session, "tracing-mou", "9", packs=PACKS)
    with pytest.raises(NotFound, match=r"no agreement 'nope'"):
        replay(session, "nope", None, packs=PACKS)
