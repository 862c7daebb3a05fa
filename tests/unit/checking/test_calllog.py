"""The demo's call log: the seeds' published counts and totals to the penny, under the
price file's own rule, from organisations that had signed by each call's day."""

from __future__ import annotations

import datetime as dt

import pytest

from caldicott.billing.core.bills import UsageEvent, rate
from caldicott.billing.core.prices import load_prices
from caldicott.billing.core.years import local
from caldicott.checking.core.answers import Person, StatusAnswer, consequence, wire_person
from caldicott.checking.core.calllog import PUBLISHED, PublishedYear, implied_minutes, make_log
from caldicott.checking.world import checking_organisations, signing_dates

PRICES = load_prices()


@pytest.mark.parametrize("year", PUBLISHED, ids=lambda y: y.year)
def test_the_call_log_matches_the_published_year_to_the_penny(year: PublishedYear) -> None:
    signed = signing_dates()
    log = make_log(year, signed, PRICES.on(year.first_day).tariffs["call"].charge)
    rated = [rate(UsageEvent(f"call/{n}", 1, "call", c.started, c.ended), PRICES)
             for n, c in enumerate(log)]
    assert len(log) == year.calls
    assert sum(r.amount_pence for r in rated) == year.pence
    assert {r.financial_year for r in rated} == {year.year}
    for call in log:
        day = local(call.started).date()
        assert year.first_day <= day <= year.last_day
        assert signed[call.organisation] <= day


def test_the_published_totals_imply_shorter_calls_than_eight_minutes() -> None:
    assert [round(implied_minutes(y), 1) for y in PUBLISHED] == [8.4, 6.2, 4.3]


def test_the_world_has_57_signatories_51_of_them_trusts() -> None:
    kinds = [kind for _, _, kind in checking_organisations()]
    assert (len(kinds), kinds.count("nhs_trust")) == (57, 51)
    dates = signing_dates()
    assert min(dates.values()) == dt.date(2016, 9, 1)
    assert max(dates.values()) < dt.date(2019, 4, 1)


def test_a_councils_answer_has_no_nhs_charging_consequence() -> None:
    answer = StatusAnswer("no_valid_leave", "leave expired")
    assert consequence(answer, "nhs_trust")[0] == "chargeable"
    assert consequence(answer, "housing_association")[0] == "not_applicable"


def test_only_the_agreed_fields_go_on_the_wire() -> None:
    person = Person("Ada", "Testperson", dt.date(1990, 1, 2), "Ruritanian")
    assert wire_person(person, frozenset({"name", "date_of_birth", "nationality"})) == {
        "given_name": "Ada", "family_name": "Testperson", "date_of_birth": "1990-01-02",
        "nationality": "Ruritanian"}
    with pytest.raises(Exception, match="cannot send address"):
        wire_person(person, frozenset({"name", "address"}))
