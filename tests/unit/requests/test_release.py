"""The minimal release and the state machine (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from caldicott.errors import Unprocessable
from caldicott.register.records import Address, GPPractice, PatientRecord, PreviousName
from caldicott.requests.batch_io import from_csv, from_json
from caldicott.requests.core.release import release_resource, tells_something_new
from caldicott.requests.core.states import CLOSED, TRANSITIONS, Status, is_closed, sources_of

ALL = frozenset({"name", "previous_names", "date_of_birth", "sex", "address", "gp_practice",
                 "registration_date", "primary_care_area"})


def _patient(restricted: bool = False) -> PatientRecord:
    return PatientRecord(
        "9990000018", "Amara", "Testperson", dt.date(1984, 3, 14), "female",
        addresses=(Address("12 Test Street", "", "Leeds", "LS6 2AB", dt.date(2005, 1, 1),
                           dt.date(2016, 5, 31)),
                   Address("4 Sample Road", "Flat 2", "Bradford", "BD7 1QA", dt.date(2016, 6, 1))),
        previous_names=(PreviousName("Amara", "Testmaiden"),),
        gp=GPPractice("B86001", "Sample Lane Surgery", "1 Sample Lane, Leeds LS6 1AA"),
        primary_care_area="Q12", registered_on=dt.date(2005, 1, 10), restricted=restricted)


def test_release_holds_only_the_allowed_fields() -> None:
    resource = release_resource(_patient(), frozenset({"name", "date_of_birth"}), "r1", False)
    assert set(resource) == {"resourceType", "id", "extension", "name", "birthDate"}
    assert [n["use"] for n in resource["name"]] == ["usual"]


def test_release_never_names_the_nhs_number_or_the_address_history() -> None:
    resource = release_resource(_patient(), ALL, "r1", True)
    assert "identifier" not in resource and "9990000018" not in str(resource)
    assert [a["postalCode"] for a in resource["address"]] == ["BD7 1QA"]
    assert "meta" not in resource  # not even the record's confidentiality marking


def test_a_restricted_patients_address_and_gp_never_leave() -> None:
    resource = release_resource(_patient(restricted=True), ALL, "r1", False)
    text = str(resource)
    assert "address" not in resource and "generalPractitioner" not in resource
    assert "BD7 1QA" not in text and "B86001" not in text and "Sample Lane" not in text


@pytest.mark.parametrize(("postcode", "line", "new"), [
    ("BD7 1QA", None, False), ("bd71qa", "4 sample road", False), ("LS6 2AB", None, True),
    (None, None, True), ("BD7 1QA", "99 Other Street", True)])
def test_new_information_is_an_address_the_requester_did_not_have(
        postcode: str | None, line: str | None, new: bool) -> None:
    assert tells_something_new(_patient(), ALL, postcode, line) is new


def test_no_new_information_when_no_address_leaves() -> None:
    assert not tells_something_new(_patient(), frozenset({"name"}), None, None)
    assert not tells_something_new(_patient(restricted=True), ALL, None, None)


def test_a_requester_cannot_tell_no_trace_from_a_refusal_after_review() -> None:
    from caldicott.requests.core.states import requester_status

    closed = {requester_status(s) for s in ("no_trace", "too_many_matches",
                                            "refused_after_review")}
    assert len(closed) == 1
    hidden = {requester_status(s) for s in ("queued", "awaiting_validation",
                                            "awaiting_public_interest", "approved_for_trace",
                                            "awaiting_review")}
    assert len(hidden) == 1


def test_closed_statuses_have_no_way_out() -> None:
    assert all(status not in TRANSITIONS for status in CLOSED)
    assert is_closed("released") and not is_closed("awaiting_review")
    assert sources_of(Status.RELEASED) == ("approved_for_trace", "awaiting_review")
    assert Status.RECEIVED not in {t for targets in TRANSITIONS.values() for t in targets}


def test_batch_readers_name_the_bad_row() -> None:
    with pytest.raises(Unprocessable, match="row 2: birth_date"):
        from_csv(b"family_name,birth_date,purpose,category,case_reference,justification\n"
                 b"Lee,1990-02-30,p,overstayer,c,j\n")
    with pytest.raises(Unprocessable, match="not JSON"):
        from_json(b"{")
    with pytest.raises(Unprocessable, match="at most 10000"):
        from_json(b'{"requests": [' + b",".join([b"{}"] * 10_001) + b"]}")
    items = from_csv(b"family_name,birth_date,purpose,category,case_reference,justification,"
                     b"requested_fields,requesting_officer,suspected_offence.statute,"
                     b"suspected_offence.section\nLee,1990-02-03,p,overstayer,c,j,name;address,"
                     b"HO-1,Immigration Act 1971,24\n")
    assert items[0].requested_fields == ["name", "address"]
    assert items[0].suspected_offence is not None
    assert items[0].suspected_offence.statute == "Immigration Act 1971"
