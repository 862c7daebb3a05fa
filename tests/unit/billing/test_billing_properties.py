"""Billing properties (Hypothesis): a call belongs to the year it started in; every charge
is the exact rational charge rounded as the price file says, including the amounts a
float computes wrongly; bills add up to their items."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from caldicott.billing.core.bills import UsageEvent, pounds, rate
from caldicott.billing.core.prices import Tariff, load_prices
from caldicott.billing.core.years import ENGLAND, financial_year, month_of

PRICES = load_prices()
CALL = PRICES.on(dt.date(2017, 6, 1)).tariffs["call"]
OFFICER = PRICES.on(dt.date(2017, 6, 1)).tariffs["officer"]


def exact_half_up(seconds: int, tariff: Tariff) -> int:
    """The oracle: the exact rational charge, rounded half up, with no Decimal and no float."""
    unit = 60 if tariff.unit == "minute" else 3600
    exact = Fraction(seconds * tariff.pence, unit)
    whole = exact.numerator // exact.denominator
    return whole + (1 if exact - whole >= Fraction(1, 2) else 0)


def float_charge(seconds: int, tariff: Tariff) -> int:
    """What floats give: pounds per second as a float, the charge rounded to 2 places."""
    unit = 60 if tariff.unit == "minute" else 3600
    return round(round(seconds * (tariff.pence / 100 / unit), 2) * 100)


FLOAT_WRONG = [s for s in range(0, 4 * 3600) if float_charge(s, OFFICER) != exact_half_up(
    s, OFFICER) or float_charge(s, CALL) != exact_half_up(s, CALL)]


def test_the_price_file_charges_calls_per_second_rounded_half_up() -> None:
    assert (CALL.pence, CALL.unit, CALL.duration, CALL.rounding) == (
        80, "minute", "per_second", "half_up")
    assert (OFFICER.pence, OFFICER.unit) == (5820, "hour")


@given(st.integers(min_value=2017, max_value=2040), st.integers(min_value=0, max_value=7200))
def test_a_call_started_at_23_59_30_on_31_march_belongs_to_the_year_it_started(
        year: int, seconds: int) -> None:
    start = dt.datetime(year, 3, 31, 23, 59, 30, tzinfo=ENGLAND).astimezone(dt.UTC)
    event = UsageEvent("call/edge", 1, "call", start, start + dt.timedelta(seconds=seconds))
    rated = rate(event, PRICES)
    assert rated.financial_year == f"{year - 1}/{year % 100:02d}"
    assert rated.month == f"{year}-03"
    after = dt.datetime(year, 4, 1, 0, 0, 0, tzinfo=ENGLAND)
    assert financial_year(after) == f"{year}/{(year + 1) % 100:02d}"
    assert month_of(after) == f"{year}-04"


@given(st.integers(min_value=0, max_value=10 * 3600))
def test_every_charge_is_the_exact_charge_rounded_half_up(seconds: int) -> None:
    assert CALL.charge(seconds) == exact_half_up(seconds, CALL)
    assert OFFICER.charge(seconds) == exact_half_up(seconds, OFFICER)


def test_there_are_amounts_a_float_gets_wrong() -> None:
    assert len(FLOAT_WRONG) > 10  # so the next test is about something real


@given(st.sampled_from(FLOAT_WRONG))
def test_amounts_a_float_gets_wrong_come_out_exact(seconds: int) -> None:
    assert CALL.charge(seconds) == exact_half_up(seconds, CALL)
    assert OFFICER.charge(seconds) == exact_half_up(seconds, OFFICER)


@given(st.lists(st.integers(min_value=0, max_value=10**7), max_size=200))
def test_pounds_of_a_total_are_exact(amounts: list[int]) -> None:
    total = sum(amounts)
    text = pounds(total).removeprefix("£").replace(",", "")
    assert Fraction(text) == Fraction(total, 100)


@settings(max_examples=50)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=3 * 365 * 86400),
                          st.integers(min_value=0, max_value=3 * 3600),
                          st.sampled_from(["call", "officer"])), max_size=60))
def test_rated_months_sum_to_the_year(items: list[tuple[int, int, str]]) -> None:
    base = dt.datetime(2016, 9, 1, tzinfo=dt.UTC)
    by_year: dict[str, int] = {}
    by_month: dict[str, int] = {}
    for n, (offset, seconds, kind) in enumerate(items):
        start = base + dt.timedelta(seconds=offset)
        rated = rate(UsageEvent(f"e/{n}", 1, kind, start, start + dt.timedelta(
            seconds=seconds)), PRICES)
        by_year[rated.financial_year] = by_year.get(rated.financial_year, 0) + rated.amount_pence
        by_month[rated.month] = by_month.get(rated.month, 0) + rated.amount_pence
        assert rated.month in _months(rated.financial_year)
    assert sum(by_year.values()) == sum(by_month.values())


def _months(year: str) -> list[str]:
    from caldicott.billing.core.years import months_of_year

    return months_of_year(year)
