"""The register of authorised signatories and the signature check, on a real database."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from caldicott.db import unit_of_work
from caldicott.errors import Conflict, InvalidInput, NotFound
from caldicott.settings import Settings
from caldicott.signatories.service import (
    CLI_OPERATOR,
    add_signatory,
    check_signatures,
    end_signatory,
    list_signatories,
)
from tests.integration.access.factories import make_org

from .helpers import DAY, home_office, ledger_entries_about, needs_police_kind, number, officer


def _codes(reasons: list) -> list[str]:  # type: ignore[type-arg]
    return [reason.code for reason in reasons]


def test_signatures_from_the_register_follow_procedure(session: Session,
                                                        settings: Settings) -> None:
    org = home_office(session)
    requester = officer(session, settings, org, "immigration officer")
    countersigner = officer(session, settings, org, "chief immigration officer", countersign=True)
    assert check_signatures(session, org.id, "home_office", requester.staff_number,
                            countersigner.staff_number, DAY, "HEO") == []


def test_refuses_a_request_without_a_countersignature(session: Session,
                                                      settings: Settings) -> None:
    org = home_office(session)
    requester = officer(session, settings, org, "EO")
    reasons = check_signatures(session, org.id, "home_office", requester.staff_number, None,
                               DAY, "HEO")
    assert _codes(reasons) == ["missing_countersignature"]
    assert reasons[0].text == "the request names no countersigning officer"


def test_refuses_a_requesting_officer_not_in_the_register(session: Session,
                                                          settings: Settings) -> None:
    org = home_office(session)
    countersigner = officer(session, settings, org, "HEO", countersign=True)
    reasons = check_signatures(session, org.id, "home_office", number(),
                               countersigner.staff_number, DAY, "HEO")
    assert _codes(reasons) == ["unauthorised_signatory"]
    assert "not in the organisation's register" in reasons[0].text


def test_refuses_a_countersignatory_not_in_the_register(session: Session,
                                                        settings: Settings) -> None:
    org = home_office(session)
    requester = officer(session, settings, org, "EO")
    reasons = check_signatures(session, org.id, "home_office", requester.staff_number,
                               number(), DAY, "HEO")
    assert _codes(reasons) == ["unauthorised_countersignatory"]


def test_refuses_a_countersignatory_not_allowed_to_countersign(session: Session,
                                                               settings: Settings) -> None:
    org = home_office(session)
    requester = officer(session, settings, org, "EO")
    senior = officer(session, settings, org, "SEO", countersign=False)
    reasons = check_signatures(session, org.id, "home_office", requester.staff_number,
                               senior.staff_number, DAY, "HEO")
    assert _codes(reasons) == ["unauthorised_countersignatory"]
    assert reasons[0].text == "the countersigning officer is not authorised to countersign"


def test_refuses_a_countersignatory_below_the_required_grade(session: Session,
                                                             settings: Settings) -> None:
    org = home_office(session)
    requester = officer(session, settings, org, "immigration officer")
    peer = officer(session, settings, org, "immigration officer", countersign=True)
    reasons = check_signatures(session, org.id, "home_office", requester.staff_number,
                               peer.staff_number, DAY, "chief immigration officer")
    assert _codes(reasons) == ["countersignatory_rank_too_low"]
    assert reasons[0].text == ("the countersigning officer's rank (EO) is below the HEO or "
                               "above this request needs")


def test_refuses_a_request_countersigned_by_its_own_requester(session: Session,
                                                              settings: Settings) -> None:
    org = home_office(session)
    senior = officer(session, settings, org, "SEO", countersign=True)
    reasons = check_signatures(session, org.id, "home_office", senior.staff_number,
                               f" {senior.staff_number.lower()} ", DAY, "HEO")
    assert _codes(reasons) == ["self_countersigned"]


def test_a_signatory_of_another_organisation_does_not_count(session: Session,
                                                            settings: Settings) -> None:
    ours, theirs = home_office(session), home_office(session)
    requester = officer(session, settings, ours, "EO")
    outsider = officer(session, settings, theirs, "SCS", countersign=True)
    reasons = check_signatures(session, ours.id, "home_office", requester.staff_number,
                               outsider.staff_number, DAY, "HEO")
    assert _codes(reasons) == ["unauthorised_countersignatory"]
    foreign_requester = check_signatures(session, theirs.id, "home_office",
                                         requester.staff_number, outsider.staff_number, DAY,
                                         "HEO")
    assert _codes(foreign_requester) == ["unauthorised_signatory"]


def test_signatories_count_only_within_their_validity_dates(session: Session,
                                                            settings: Settings) -> None:
    org = home_office(session)
    requester = officer(session, settings, org, "EO", valid_from=dt.date(2018, 1, 1),
                        valid_to=dt.date(2018, 5, 8))
    countersigner = officer(session, settings, org, "HEO", countersign=True,
                            valid_from=dt.date(2018, 2, 1))

    def codes_on(day: dt.date) -> list[str]:
        return _codes(check_signatures(session, org.id, "home_office", requester.staff_number,
                                       countersigner.staff_number, day, "HEO"))

    assert codes_on(dt.date(2017, 12, 31)) == ["unauthorised_signatory",
                                               "unauthorised_countersignatory"]
    assert codes_on(dt.date(2018, 1, 15)) == ["unauthorised_countersignatory"]
    assert codes_on(dt.date(2018, 2, 1)) == []
    assert codes_on(dt.date(2018, 5, 8)) == []  # the last day is still valid
    assert codes_on(dt.date(2018, 5, 9)) == ["unauthorised_signatory"]


def test_an_ended_signatory_no_longer_counts(session: Session, settings: Settings) -> None:
    org = home_office(session)
    requester = officer(session, settings, org, "EO")
    countersigner = officer(session, settings, org, "HEO", countersign=True)
    end_signatory(session, settings, CLI_OPERATOR, organisation_code=org.code,
                  staff_number=countersigner.staff_number, on=dt.date(2018, 2, 28))
    reasons = check_signatures(session, org.id, "home_office", requester.staff_number,
                               countersigner.staff_number, DAY, "HEO")
    assert _codes(reasons) == ["unauthorised_countersignatory"]
    assert "was not an authorised signatory on 2018-03-01" in reasons[0].text


def test_an_unknown_required_rank_is_an_error_naming_the_ladder(session: Session,
                                                                settings: Settings) -> None:
    org = home_office(session)
    with pytest.raises(InvalidInput, match=r"unknown rank 'sergeant' for home_office; "
                                           r"home_office ranks: AO < EO < HEO"):
        check_signatures(session, org.id, "home_office", "A1", "B2", DAY, "sergeant")


@needs_police_kind
def test_refuses_a_police_countersignature_from_a_sergeant_where_an_inspector_is_required(
        session: Session, settings: Settings) -> None:
    force = make_org(session, "police")
    constable = officer(session, settings, force, "detective constable")
    sergeant = officer(session, settings, force, "sergeant", countersign=True)
    inspector = officer(session, settings, force, "inspector", countersign=True)
    refused = check_signatures(session, force.id, "police", constable.staff_number,
                               sergeant.staff_number, DAY, "inspector")
    assert _codes(refused) == ["countersignatory_rank_too_low"]
    assert check_signatures(session, force.id, "police", constable.staff_number,
                            inspector.staff_number, DAY, "inspector") == []


def test_adding_stores_the_rung_and_keeps_the_title_as_role(session: Session,
                                                            settings: Settings) -> None:
    org = home_office(session)
    row = add_signatory(session, settings, CLI_OPERATOR, organisation_code=org.code.lower(),
                        full_name="  Synthetic   Officer ", rank="Chief Immigration Officer",
                        staff_number=" ab 12 ", valid_from=DAY)
    assert (row.rank, row.role_title, row.staff_number, row.full_name) == (
        "HEO", "Chief Immigration Officer", "AB12", "Synthetic Officer")
    assert [r.id for r in list_signatories(session, org.code)] == [row.id]


def test_adding_refuses_a_rank_off_the_organisation_ladder(session: Session,
                                                           settings: Settings) -> None:
    org = home_office(session)
    with pytest.raises(InvalidInput, match="unknown rank 'sergeant' for home_office"):
        officer(session, settings, org, "sergeant")


def test_adding_refuses_an_organisation_that_does_not_request_tracing(
        session: Session, settings: Settings) -> None:
    trust = make_org(session, "nhs_trust")
    with pytest.raises(InvalidInput, match="does not request tracing"):
        officer(session, settings, trust, "EO")


def test_adding_refuses_a_staff_number_already_in_the_organisation(
        session: Session, settings: Settings) -> None:
    ours, theirs = home_office(session), home_office(session)
    first = officer(session, settings, ours, "EO")
    add_signatory(session, settings, CLI_OPERATOR, organisation_code=theirs.code,
                  full_name="Another Officer", rank="EO", staff_number=first.staff_number,
                  valid_from=DAY)  # the same number in another organisation is fine
    with pytest.raises(Conflict, match="already has a signatory"):
        add_signatory(session, settings, CLI_OPERATOR, organisation_code=ours.code,
                      full_name="Another Officer", rank="EO", staff_number=first.staff_number,
                      valid_from=DAY)


def test_adding_refuses_an_end_before_the_start(session: Session, settings: Settings) -> None:
    org = home_office(session)
    with pytest.raises(InvalidInput, match=r"valid to \(2017-12-31\) is before valid from"):
        officer(session, settings, org, "EO", valid_from=dt.date(2018, 1, 1),
                valid_to=dt.date(2017, 12, 31))


def test_ending_twice_or_an_unknown_number_is_refused(session: Session,
                                                      settings: Settings) -> None:
    org = home_office(session)
    row = officer(session, settings, org, "EO")
    end_signatory(session, settings, CLI_OPERATOR, organisation_code=org.code,
                  staff_number=row.staff_number, on=DAY)
    with pytest.raises(Conflict, match="already ended on 2018-03-01"):
        end_signatory(session, settings, CLI_OPERATOR, organisation_code=org.code,
                      staff_number=row.staff_number, on=DAY)
    with pytest.raises(NotFound, match="has no signatory with staff number"):
        end_signatory(session, settings, CLI_OPERATOR, organisation_code=org.code,
                      staff_number=number(), on=DAY)


def test_each_addition_and_ending_is_one_ledger_entry_without_personal_data(
        session: Session, settings: Settings) -> None:
    org = home_office(session)
    row = add_signatory(session, settings, CLI_OPERATOR, organisation_code=org.code,
                        full_name="Zebedee Quaintly", rank="HEO", staff_number="QX9081",
                        valid_from=DAY, may_countersign=True)
    end_signatory(session, settings, CLI_OPERATOR, organisation_code=org.code,
                  staff_number="QX9081", on=dt.date(2018, 6, 30))
    entries = ledger_entries_about(session, f"signatory/{row.id}")
    assert [(e["type"], e["action"], e["agent"]["who"]) for e in entries] == [
        ("signatory-added", "C", "system/cli"), ("signatory-ended", "U", "system/cli")]
    assert all(e["details_sha256"] for e in entries)
    text = repr(entries)
    assert "Zebedee" not in text and "QX9081" not in text and "HEO" not in text


def test_two_concurrent_endings_of_one_signatory_record_one(engine: Engine,
                                                            settings: Settings) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time anyway")
    with unit_of_work(engine) as session:
        org = home_office(session)
        row = officer(session, settings, org, "EO")
        code, staff, signatory_id = org.code, row.staff_number, row.id
    outcomes: list[str] = []

    def end_in_another_transaction() -> None:
        try:
            with unit_of_work(engine) as other:
                end_signatory(other, settings, CLI_OPERATOR, organisation_code=code,
                              staff_number=staff, on=dt.date(2018, 6, 1))
            outcomes.append("ended")
        except Conflict as error:
            outcomes.append(error.diagnostics)

    with unit_of_work(engine) as first:
        end_signatory(first, settings, CLI_OPERATOR, organisation_code=code,
                      staff_number=staff, on=dt.date(2018, 5, 1))
        racer = threading.Thread(target=end_in_another_transaction)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive()  # waiting for the first transaction's row lock
    racer.join(timeout=30)
    assert outcomes == [f"signatory {staff} of {code} already ended on 2018-05-01"]
    with unit_of_work(engine) as session:
        assert [e["type"] for e in ledger_entries_about(session, f"signatory/{signatory_id}")] == [
            "signatory-added", "signatory-ended"]
