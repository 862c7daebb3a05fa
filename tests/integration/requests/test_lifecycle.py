"""The request lifecycle as the gateway must hold it (issue 18 items 1, 2, 5; issue 19 items 4,
5, 6, 8, 9): no back-dating, only parties, nothing learnt before a release, the restricted,
the dead and children to the Guardian, less intrusive outcomes, the public-interest record."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from caldicott.db import unit_of_work
from caldicott.ledger import repository as ledger_repository
from caldicott.ledger import service as ledger_service
from caldicott.ledger.models import LedgerEntry
from caldicott.ledger.verify import verify
from caldicott.requests.models import PublicInterestRow
from caldicott.requests.scenario import _ask, last_postcode
from caldicott.service.app import create_app
from tests.integration.requests.conftest import Lifecycle

#: What differs between any two requests whatever happened to them: their own words.
OWN_WORDS = {"id", "subject", "case_reference", "received_at", "request_date", "category",
             "facts", "requested_by"}


def _body(lifecycle: Lifecycle, person: Any, reference: str, **facts: Any) -> dict[str, Any]:
    return _ask(person, dt.date(2017, 6, 1), "overstayer", last_postcode(person),
                case_reference=reference, **facts)


def _officer_view(lifecycle: Lifecycle, request_id: int) -> dict[str, Any]:
    seen = lifecycle.read(request_id, who="officer")
    return {k: v for k, v in seen.items() if k not in OWN_WORDS}


def test_a_live_service_refuses_a_requesters_request_date(lifecycle: Lifecycle) -> None:
    live = lifecycle.settings.model_copy(update={"replay_history": False})
    body = _body(lifecycle, lifecycle.world.people.overstayer, "BACKDATED")
    with TestClient(create_app(live)) as client:
        reply = client.post("/api/trace-requests", json=body, headers=lifecycle.auth("officer"))
        assert reply.status_code == 422
        assert "judged as of the day caldicott receives it" in reply.json()["issue"][0][
            "diagnostics"]
        # Without a date it is judged as of today: the memorandum was withdrawn in 2018.
        del body["request_date"]
        today = client.post("/api/trace-requests", json=body, headers=lifecycle.auth("officer"))
        assert today.status_code == 201, today.text
        assert today.json()["request_date"] == dt.date.today().isoformat()
        assert today.json()["status"] == "refused"
        assert today.json()["refusal"]["reasons"][0]["clause"] == "W.1"


def test_only_a_party_may_use_an_agreement(lifecycle: Lifecycle) -> None:
    body = _body(lifecycle, lifecycle.world.people.overstayer, "NOT-A-PARTY")
    reply = lifecycle.client.post("/api/trace-requests", json=body,
                                  headers=lifecycle.auth("other_officer"))
    assert reply.status_code == 403, reply.text
    assert "HO-CAS" in reply.json()["issue"][0]["diagnostics"]


def test_the_submit_response_tells_nothing_of_the_trace(lifecycle: Lifecycle) -> None:
    body = _body(lifecycle, lifecycle.world.people.overstayer, "SILENT")
    shown = lifecycle.submit(body)
    assert shown["status"] == "under_consideration"
    assert shown["trace"] is None and shown["internal_status"] is None
    request_id = lifecycle.to_review(body | {"case_reference": "SILENT-2"})
    officer = lifecycle.read(request_id, who="officer")
    assert officer["status"] == "under_consideration" and officer["trace"] is None
    listed = lifecycle.client.get("/api/trace-requests?status=awaiting_review",
                                  headers=lifecycle.auth("officer"))
    assert listed.status_code == 422  # a requester may not filter by what they may not see


def test_no_trace_reads_exactly_like_a_refusal_after_review(lifecycle: Lifecycle) -> None:
    people = lifecycle.world.people
    absent = _body(lifecycle, people.overstayer, "ABSENT", given_name="Nobody",
                   family_name="Notregistered", birth_date="1961-02-03")
    nobody = lifecycle.to_review(absent)
    assert lifecycle.read(nobody)["trace"]["outcome"] == "no_trace"
    assert lifecycle.review(nobody, "confirm_no_trace").status_code == 200
    found = lifecycle.to_review(_body(lifecycle, people.offender, "FOUND"))
    assert lifecycle.read(found)["trace"]["outcome"] == "traced"
    assert lifecycle.review(found, "refuse").status_code == 200
    assert _officer_view(lifecycle, nobody) == _officer_view(lifecycle, found)
    assert _officer_view(lifecycle, found)["status"] == "closed"


def test_a_restricted_match_releases_nothing_and_reads_as_no_trace(lifecycle: Lifecycle) -> None:
    people = lifecycle.world.people
    restricted = lifecycle.to_review(_body(lifecycle, people.restricted, "RESTRICTED"))
    staff = lifecycle.read(restricted)
    assert staff["trace"]["route"] == "guardian"
    assert "restricted" in staff["trace"]["route_reasons"]
    approve = lifecycle.review(restricted)
    assert approve.status_code == 409  # nothing about them leaves for enforcement
    assert lifecycle.review(restricted, "refuse").status_code == 200
    absent = lifecycle.to_review(_body(lifecycle, people.overstayer, "ABSENT-2",
                                       given_name="Nobody", family_name="Notregistered",
                                       birth_date="1961-02-03"))
    assert lifecycle.review(absent, "confirm_no_trace").status_code == 200
    assert _officer_view(lifecycle, restricted) == _officer_view(lifecycle, absent)


def test_a_deceased_subject_goes_to_the_guardian_and_no_address_leaves(
        lifecycle: Lifecycle) -> None:
    deceased = lifecycle.world.people.deceased
    request_id = lifecycle.to_review(_body(lifecycle, deceased, "DECEASED"))
    assert "deceased" in lifecycle.read(request_id)["trace"]["route_reasons"]
    decided = lifecycle.review(request_id)
    assert decided.status_code == 200, decided.text
    shown = lifecycle.read(request_id, who="officer")
    assert shown["status"] == "person_deceased"
    resource = shown["release"]["resource"]
    assert resource["deceasedBoolean"] is True
    assert "address" not in resource and "generalPractitioner" not in resource
    assert "address" not in shown["release"]["fields"]


def test_a_child_goes_to_the_guardian(lifecycle: Lifecycle) -> None:
    request_id = lifecycle.to_review(_body(lifecycle, lifecycle.world.people.child, "CHILD"))
    assert lifecycle.read(request_id)["trace"]["route_reasons"] == ["child"]


def test_a_less_intrusive_outcome_discloses_no_address(lifecycle: Lifecycle) -> None:
    request_id = lifecycle.to_review(_body(lifecycle, lifecycle.world.people.offender, "LETTER"))
    reply = lifecycle.review(request_id, disclosure="forward_letter")
    assert reply.status_code == 200, reply.text
    release = lifecycle.read(request_id, who="officer")["release"]
    assert release["kind"] == "forward_letter" and release["fields"] == []
    outcome = [e for e in release["resource"]["extension"] if "release-outcome" in e["url"]]
    assert outcome[0]["valueCodeableConcept"]["coding"][0]["code"] == "forward_letter"
    assert "address" not in release["resource"] and "name" not in release["resource"]


def test_a_wrong_purpose_is_refused_quoting_the_purpose_clause(lifecycle: Lifecycle) -> None:
    body = _body(lifecycle, lifecycle.world.people.overstayer, "PURPOSE",
                 purpose="trace_for_deportation")  # a 2018 purpose, asked in 2017
    shown = lifecycle.submit(body)
    assert shown["status"] == "refused" and shown["refusal"]["kind"] == "agreement"
    from caldicott.agreements.core import load_packs

    version = load_packs().agreements["tracing-mou"].version_on(dt.date(2017, 6, 1))
    assert version is not None
    purpose_clause = version.clause(version.purpose_clause)
    assert {"clause": purpose_clause.id, "text": purpose_clause.text} in shown["refusal"][
        "reasons"]


def test_sentences_that_do_not_count_under_section_38(lifecycle: Lifecycle) -> None:
    def sentence(kind: str, months: int, group: str | None = None) -> dict[str, Any]:
        return {"offence": "theft", "statute": "Theft Act 1968", "court": "Example Court",
                "date": "2016-02-01", "sentence_type": kind, "length_months": months,
                "consecutive_group": group}
    suspended = [sentence("suspended", 14)]
    consecutive = [sentence("consecutive", 6, "A") for _ in range(3)]
    for convictions, months in ((suspended, 0), (consecutive, 6)):
        body = _ask(lifecycle.world.people.offender, dt.date(2018, 6, 1),
                    "foreign_national_offender", None, purpose="trace_for_deportation",
                    deportation_stage="considered", convictions=convictions,
                    case_reference=f"S38-{months}")
        shown = lifecycle.submit(body)
        assert shown["facts"]["qualifying_sentence_months"] == months


def test_the_reviewer_sees_the_justification_and_every_asserted_fact(
        lifecycle: Lifecycle) -> None:
    body = _body(lifecycle, lifecycle.world.people.offender, "FACTS",
                 aliases=[{"given_name": "Al", "family_name": "Example"}],
                 nationality="Examplestan", urgency="urgent",
                 date_of_last_contact="2016-11-01")
    request_id = lifecycle.to_review(body)
    seen = lifecycle.read(request_id, who="guardian")
    assert seen["facts"]["justification"].startswith("Previously in contact")
    assert seen["facts"]["suspected_offence"]["statute"] == "Immigration Act 1971"
    assert seen["facts"]["alternatives_tried"] and seen["subject"]["aliases"][0]["given_name"] \
        == "Al"
    assert seen["subject"]["nationality"] == "Examplestan" and seen["urgency"] == "urgent"
    assert seen["public_interest"]["record"]["decider_grade"] == "Caldicott Guardian"


def test_the_release_carries_the_hash_of_its_public_interest_record(
        lifecycle: Lifecycle) -> None:
    request_id = lifecycle.to_review(_body(lifecycle, lifecycle.world.people.offender, "PIT"))
    assert lifecycle.review(request_id).status_code == 200
    digest = lifecycle.read(request_id)["public_interest"]["sha256"]
    ledger_service.integrate(lifecycle.engine, lifecycle.settings)
    with unit_of_work(lifecycle.engine) as session:
        entries = [(i, json.loads(e)) for i, e in session.execute(
            select(LedgerEntry.index, LedgerEntry.entry))]
    disclosure = [i for i, e in entries if e["type"] == "disclosure"
                  and e["entity"]["what"] == f"trace-request/{request_id}"]
    assert len(disclosure) == 1
    with unit_of_work(lifecycle.engine) as session:
        assert verify(session, lifecycle.settings).ok
        details = json.loads(ledger_repository.detail_at(session, disclosure[0]) or b"{}")
        assert details["public_interest_sha256"].removeprefix("sha256:").replace(".", "") \
            == digest
        session.execute(update(PublicInterestRow).where(
            PublicInterestRow.request_id == request_id).values(
            record=PublicInterestRow.record + " "))
        report = verify(session, lifecycle.settings)
        session.rollback()
    assert not report.ok
    assert any("public-interest record" in p for p in report.problems)


CORONER_PACK = '''
id = "coroner-test"
title = "HM Coroner: tracing next of kin (test only), released only after two reviewers"
channels = ["trace"]

[[party]]
role = "requester"
kind = "coroner"

[[party]]
role = "custodian"
kind = "nhs_digital"

[[version]]
version = "1"
effective_from = 2016-01-01
purpose_clause = "1.1"
approval = "two_reviewers"
public_interest_test = true
countersignature = "authorised officer"

[[version.purpose]]
code = "trace_next_of_kin"
text = "tracing the next of kin of a deceased person for an inquest"

[version.legal_basis]
lawful_basis = ["test only: no real disclosure"]
gateway = "test only"
public_interest_document = "test only"
public_interest_approver = "test only"
review_date = 2030-01-01

[[version.clause]]
id = "1.1"
text = """The coroner may ask to trace the next of kin of a deceased person (test only)."""

[[version.clause]]
id = "3.1"
text = """Only name and address are released."""
release = ["name", "address"]
'''


def test_two_reviewers_are_needed_when_the_version_asks_for_two(lifecycle: Lifecycle) -> None:
    from caldicott.access import service as access
    from caldicott.agreements import service as agreements
    from caldicott.orgs import service as orgs
    from caldicott.requests.audit import SYSTEM
    from caldicott.signatories import service as signatories

    folder = lifecycle.settings.data_dir / "agreements"
    folder.mkdir(exist_ok=True)
    (folder / "coroner-test.toml").write_text(CORONER_PACK, encoding="utf-8")
    with unit_of_work(lifecycle.engine) as session:
        orgs.add_organisation(session, "CORDM", "Demoshire Coroner", "coroner")
        access.add_user(session, "coroner.officer@cordm.example", "CORDM",
                        ["requesting_officer"])
        token = access.create_token(session, "coroner.officer@cordm.example", days=1).token
        for number, countersigns in (("COR-1", False), ("COR-2", True)):
            signatories.add_signatory(
                session, lifecycle.settings, SYSTEM, organisation_code="CORDM",
                full_name="Coroner Officer Example", rank="authorised officer",
                staff_number=number, valid_from=dt.date(2016, 1, 1),
                may_countersign=countersigns)
        agreements.activate(session, lifecycle.settings, "coroner-test", "1",
                            "admin@x26.example")
    lifecycle.world.tokens["coroner"] = token
    body = _ask(lifecycle.world.people.offender, dt.date(2019, 5, 1), "other",
                last_postcode(lifecycle.world.people.offender), purpose="trace_next_of_kin",
                requesting_officer="COR-1", countersigning_officer="COR-2",
                case_reference="INQ-1", requested_fields=["name", "address"])
    request_id = lifecycle.to_review(body, who="coroner")
    assert lifecycle.read(request_id)["agreement"] == "coroner-test"

    first = lifecycle.review(request_id)
    assert first.status_code == 200 and first.json()["internal_status"] == "awaiting_review"
    again = lifecycle.review(request_id)  # the same reviewer cannot be the second
    assert again.status_code == 409
    second = lifecycle.review(request_id, who="second_guardian")
    assert second.status_code == 200, second.text
    assert second.json()["internal_status"] == "released"
    assert [r["reviewed_by"] for r in second.json()["reviews"]] == [
        lifecycle.world.user_ids["guardian"], lifecycle.world.user_ids["second_guardian"]]


def test_reading_a_request_is_itself_an_entry_naming_the_reader(lifecycle: Lifecycle) -> None:
    request_id = lifecycle.to_review(_body(lifecycle, lifecycle.world.people.offender, "READ"))
    lifecycle.read(request_id, who="officer")
    ledger_service.integrate(lifecycle.engine, lifecycle.settings)
    with unit_of_work(lifecycle.engine) as session:
        entries = [json.loads(e) for e in session.scalars(
            select(LedgerEntry.entry).order_by(LedgerEntry.index.desc()).limit(20))]
    reads = [e for e in entries if e["type"] == "read"
             and e["entity"]["what"] == f"trace-request/{request_id}"]
    assert reads and reads[0]["action"] == "R"
    assert reads[0]["agent"]["who"] == f"user/{lifecycle.world.user_ids['officer']}"
    assert len(reads[0]["entity"]["subjects"]) == 1  # the matched patient, as a commitment


def test_an_idempotency_key_covers_the_whole_batch(lifecycle: Lifecycle) -> None:
    people = lifecycle.world.people
    first = _body(lifecycle, people.overstayer, "BATCH-KEY-1")
    second = _body(lifecycle, people.offender, "BATCH-KEY-2")
    headers = {**lifecycle.auth("officer"), "Idempotency-Key": "whole-batch"}
    made = lifecycle.client.post("/api/trace-requests/batch", json={"requests": [first, second]},
                                 headers=headers)
    assert made.status_code == 202, made.text
    again = lifecycle.client.post("/api/trace-requests/batch",
                                  json={"requests": [first, second]}, headers=headers)
    assert again.json()["request_ids"] == made.json()["request_ids"]
    changed = lifecycle.client.post("/api/trace-requests/batch", json={"requests": [
        first, {**second, "case_reference": "CHANGED"}]}, headers=headers)
    assert changed.status_code == 409  # the first item is the same; the batch is not


def test_sentences_that_do_not_count_are_refused_under_the_narrowed_version_2(
        lifecycle: Lifecycle) -> None:
    """A 14-month suspended sentence, or 3 x 6 months consecutive, as the request states
    them, decided under version 2 of the narrowed reading (the default suspends it)."""
    from caldicott.agreements.core import Outcome, decide, load_packs
    from caldicott.requests import repository
    from caldicott.requests.service import policy_request

    narrowed = load_packs().agreements["tracing-mou-narrowed"]
    cases = [(day, version, kind, months, count)
             for day, version in ((dt.date(2018, 5, 15), "2"), (dt.date(2018, 6, 1), "2.1"))
             for kind, months, count in (("suspended", 14, 1), ("consecutive", 6, 3),
                                         ("immediate", 18, 1))]
    for day, version, kind, months, count in cases:
        convictions = [{"offence": "theft", "statute": "Theft Act 1968", "court": "Example Court",
                        "date": "2016-02-01", "sentence_type": kind, "length_months": months,
                        "consecutive_group": "A" if kind == "consecutive" else None}] * count
        body = _ask(lifecycle.world.people.offender, day, "foreign_national_offender", None,
                    purpose="trace_for_deportation", deportation_stage="considered",
                    convictions=convictions, case_reference=f"V{version}-{kind}")
        request_id = lifecycle.submit(body)["id"]
        with unit_of_work(lifecycle.engine) as session:
            row = repository.get(session, request_id)
            assert row is not None
            decision = decide(policy_request(row), day, narrowed)
        assert decision.version == version
        if kind == "immediate":
            assert decision.outcome is Outcome.PERMIT
        else:
            assert decision.outcome is Outcome.DENY, kind
            assert any("12 months" in " ".join(u.text.split()) for u in decision.unmet), kind


def test_an_auditor_of_the_requesting_body_sees_what_the_requester_sees(
        lifecycle: Lifecycle) -> None:
    from caldicott.access import service as access

    with unit_of_work(lifecycle.engine) as session:
        access.add_user(session, "ho.auditor@ho-ie.example", "HO-IE", ["auditor"])
        token = access.create_token(session, "ho.auditor@ho-ie.example", days=1).token
    lifecycle.world.tokens["ho_auditor"] = token
    request_id = lifecycle.to_review(_body(lifecycle, lifecycle.world.people.offender, "HO-AUD"))
    seen = lifecycle.read(request_id, who="ho_auditor")
    assert seen["status"] == "under_consideration"
    assert seen["trace"] is None and seen["internal_status"] is None
    assert lifecycle.read(request_id)["trace"]["outcome"] == "traced"  # NHS Digital's auditor
