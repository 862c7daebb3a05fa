"""A version's status comes from its dates and flags (issue 19.12): not "active" for all."""

from __future__ import annotations

import datetime as dt

from caldicott.agreements.core import load_packs, version_status

PACKS = load_packs().agreements
TODAY = dt.date(2026, 11, 28)


def _statuses(agreement: str, today: dt.date = TODAY, **flags: bool) -> dict[str, str]:
    return {v.version: version_status(v, today, **flags) for v in PACKS[agreement].versions}


def test_the_memorandum_today_is_expired_then_withdrawn() -> None:
    assert _statuses("tracing-mou") == {
        "1": "expired",
        "1.1": "expired",
        "2": "expired (suspended)",
        "2.1": "expired (suspended)",
        "3-withdrawn": "withdrawn",
    }


def test_in_the_summer_of_2018_the_memorandum_is_suspended() -> None:
    day = dt.date(2018, 7, 1)
    assert _statuses("tracing-mou", day)["2.1"] == "suspended"
    assert _statuses("tracing-mou", day)["3-withdrawn"] == "not yet in force"
    assert _statuses("tracing-mou", dt.date(2017, 6, 1))["1"] == "in force"


def test_open_ended_packs_are_in_force_and_what_ifs_say_so() -> None:
    assert _statuses("debt-referral") == {"1": "expired", "2": "in force"}
    assert set(_statuses("firewall").values()) == {"what-if"}
    assert set(_statuses("tracing-mou-narrowed").values()) == {"what-if"}


def test_a_draft_is_a_draft_until_activated() -> None:
    assert _statuses("debt-referral", draft=True) == {"1": "draft", "2": "draft"}
    assert _statuses("debt-referral", draft=True, activated=True)["2"] == "in force"
