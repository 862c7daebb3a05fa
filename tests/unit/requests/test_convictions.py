"""The UK Borders Act 2007 s.38 reading of "a period of imprisonment of at least 12 months"."""

from __future__ import annotations

import dataclasses
import datetime as dt
import doctest
import re

import pytest

from caldicott.requests.core import convictions
from caldicott.requests.core.convictions import (
    INDETERMINATE_MONTHS,
    THRESHOLD_MONTHS,
    Conviction,
    ConvictionError,
    meets_condition_1,
    qualifying_sentence_months,
    validate_conviction,
)

TODAY = dt.date(2018, 5, 20)


def _sentence(kind: str, months: int | None, group: str | None = None, *,
              activated: bool = False, on: dt.date = dt.date(2017, 6, 1)) -> Conviction:
    return Conviction("burglary", "Theft Act 1968 s.9", "Bristol Crown Court", on, kind, months,
                      group, activated)


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(convictions)
    assert result.attempted >= 8 and result.failed == 0


def test_a_14_month_suspended_sentence_does_not_count() -> None:
    assert qualifying_sentence_months([_sentence("suspended", 14)]) == 0
    assert not meets_condition_1([_sentence("suspended", 14)])


def test_a_suspended_sentence_a_court_activated_counts_its_length() -> None:
    assert qualifying_sentence_months([_sentence("suspended", 14, activated=True)]) == 14


def test_three_consecutive_6_month_sentences_count_6_not_18() -> None:
    counts = [_sentence("consecutive", 6, "indictment-1")] * 3
    assert qualifying_sentence_months(counts) == 6
    assert not meets_condition_1(counts)


def test_a_consecutive_sentence_of_12_months_by_itself_still_counts() -> None:
    counts = [_sentence("consecutive", 12, "i-1"), _sentence("consecutive", 3, "i-1")]
    assert qualifying_sentence_months(counts) == 12


def test_concurrent_sentences_count_the_longest_alone() -> None:
    assert qualifying_sentence_months([_sentence("concurrent", 8),
                                       _sentence("concurrent", 10)]) == 10


def test_one_18_month_immediate_sentence_counts_18() -> None:
    assert qualifying_sentence_months([_sentence("immediate", 18)]) == 18
    assert meets_condition_1([_sentence("immediate", 18)])


def test_an_indeterminate_sentence_counts_as_the_named_sentinel() -> None:
    months = qualifying_sentence_months([_sentence("indeterminate", None),
                                         _sentence("immediate", 30)])
    assert months == INDETERMINATE_MONTHS >= THRESHOLD_MONTHS
    assert qualifying_sentence_months([_sentence("indeterminate", 4)]) == INDETERMINATE_MONTHS


def test_a_12_month_hospital_order_counts_12() -> None:
    assert qualifying_sentence_months([_sentence("hospital_order", 12)]) == 12
    assert meets_condition_1([_sentence("hospital_order", 12)])


def test_a_hospital_order_without_limit_of_time_is_indeterminate() -> None:
    assert qualifying_sentence_months([_sentence("hospital_order", None)]) == INDETERMINATE_MONTHS


def test_detention_in_a_young_offender_institution_counts_its_length() -> None:
    assert qualifying_sentence_months([_sentence("detention", 12)]) == 12
    assert not meets_condition_1([_sentence("detention", 11)])


def test_no_convictions_count_nothing() -> None:
    assert qualifying_sentence_months([]) == 0


def test_a_possible_conviction_is_valid() -> None:
    conviction = _sentence("consecutive", 6, "i-1")
    assert validate_conviction(conviction, today=TODAY) is conviction


@pytest.mark.parametrize("conviction,message", [
    (_sentence("immediate", -3), "sentence length -3 months is negative"),
    (_sentence("immediate", 6, on=dt.date(2018, 5, 21)),
     "conviction date 2018-05-21 is in the future"),
    (_sentence("immediate", 6, on=dt.date(1899, 12, 31)), "is before 1900"),
    (_sentence("immediate", None), "sentence type immediate needs its length in months"),
    (_sentence("suspended", 30), "a suspended sentence of 30 months is impossible"),
    (_sentence("immediate", 1201), "longer than 1200 (100 years)"),
    (_sentence("life", 6), "unknown sentence type 'life'"),
    (_sentence("consecutive", 6), "needs the group of counts it runs with"),
    (_sentence("concurrent", 6, "i-1"), "sentence type concurrent does not run consecutively"),
    (_sentence("immediate", 6, activated=True), "only a suspended sentence can be activated"),
    (dataclasses.replace(_sentence("immediate", 6), court=" "), "court is empty"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_impossible_values_are_refused_with_a_clear_error(conviction: Conviction,
                                                          message: str) -> None:
    with pytest.raises(ConvictionError, match=re.escape(message)):
        validate_conviction(conviction, today=TODAY)
