"""The signature check on plain values: every reason code, validity, rank (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from caldicott.signatories.core import (
    REASON_CODES,
    SignatoryEntry,
    UnknownRank,
    procedure_reasons,
)

DAY = dt.date(2018, 3, 1)
FORCE = 7


def _entry(signatory_id: int, rank: str, *, countersign: bool = False,
           valid_from: dt.date = dt.date(2017, 1, 1),
           valid_to: dt.date | None = None) -> SignatoryEntry:
    return SignatoryEntry(signatory_id, FORCE, f"W{signatory_id}", rank, valid_from, valid_to,
                          countersign)


CONSTABLE = _entry(1, "constable")
SERGEANT = _entry(2, "sergeant", countersign=True)
INSPECTOR = _entry(3, "inspector", countersign=True)


def _codes(requesting: SignatoryEntry | None, countersigning: SignatoryEntry | None, *,
           requesting_ref: str | None = "W1", countersigning_ref: str | None = "W3",
           on: dt.date = DAY, required: str | None = "inspector") -> list[str]:
    return [r.code for r in procedure_reasons("police", requesting_ref, requesting,
                                              countersigning_ref, countersigning, on, required)]


def test_a_constable_countersigned_by_an_inspector_follows_procedure() -> None:
    assert _codes(CONSTABLE, INSPECTOR) == []


def test_a_sergeants_countersignature_is_refused_where_an_inspector_is_required() -> None:
    assert _codes(CONSTABLE, SERGEANT, countersigning_ref="W2") == [
        "countersignatory_rank_too_low"]
    assert _codes(CONSTABLE, SERGEANT, countersigning_ref="W2", required="sergeant") == []


def test_no_countersignature_is_refused_unless_none_is_required() -> None:
    assert _codes(CONSTABLE, None, countersigning_ref=None) == ["missing_countersignature"]
    assert _codes(CONSTABLE, None, countersigning_ref="  ") == ["missing_countersignature"]
    assert [r.code for r in procedure_reasons("court", "W1", CONSTABLE, None, None, DAY, None,
                                              countersignature_required=False)] == []


def test_a_requester_missing_from_the_register_or_unnamed_is_unauthorised() -> None:
    assert _codes(None, INSPECTOR) == ["unauthorised_signatory"]
    assert _codes(None, INSPECTOR, requesting_ref=None) == ["unauthorised_signatory"]


def test_a_countersignatory_missing_not_valid_or_not_allowed_is_unauthorised() -> None:
    assert _codes(CONSTABLE, None) == ["unauthorised_countersignatory"]
    expired = _entry(3, "inspector", countersign=True, valid_to=dt.date(2018, 2, 28))
    assert _codes(CONSTABLE, expired) == ["unauthorised_countersignatory"]
    not_allowed = _entry(3, "chief inspector", countersign=False)
    assert _codes(CONSTABLE, not_allowed) == ["unauthorised_countersignatory"]


def test_a_countersignatory_can_be_both_not_allowed_and_too_junior() -> None:
    assert _codes(CONSTABLE, _entry(3, "constable")) == [
        "unauthorised_countersignatory", "countersignatory_rank_too_low"]


def test_self_countersigning_is_refused_by_entry_or_by_number() -> None:
    assert _codes(INSPECTOR, INSPECTOR, requesting_ref="W3") == ["self_countersigned"]
    assert _codes(None, None, requesting_ref="w 9", countersigning_ref="W9") == [
        "unauthorised_signatory", "self_countersigned"]


def test_validity_runs_from_the_first_to_the_last_day_inclusive() -> None:
    requester = _entry(1, "constable", valid_from=dt.date(2018, 1, 1),
                       valid_to=dt.date(2018, 5, 8))
    assert _codes(requester, INSPECTOR, on=dt.date(2018, 1, 1)) == []
    assert _codes(requester, INSPECTOR, on=dt.date(2018, 5, 8)) == []
    assert _codes(requester, INSPECTOR, on=dt.date(2017, 12, 31)) == ["unauthorised_signatory"]
    assert _codes(requester, INSPECTOR, on=dt.date(2018, 5, 9)) == ["unauthorised_signatory"]


def test_every_reason_has_plain_words() -> None:
    seen = {}
    for requesting, countersigning, refs in [
        (None, None, ("W1", None)), (CONSTABLE, _entry(3, "constable"), ("W1", "W3")),
        (INSPECTOR, INSPECTOR, ("W3", "W3")), (CONSTABLE, None, ("W1", "W3"))]:
        for reason in procedure_reasons("police", refs[0], requesting, refs[1], countersigning,
                                        DAY, "inspector"):
            seen[reason.code] = reason.text
    assert set(seen) == set(REASON_CODES)
    assert all(text and text[0].islower() and "_" not in text for text in seen.values())


def test_an_unknown_required_rank_names_the_ladder() -> None:
    with pytest.raises(UnknownRank, match="police ranks: constable < sergeant < inspector"):
        procedure_reasons("police", "W1", CONSTABLE, "W3", INSPECTOR, DAY, "HEO")
