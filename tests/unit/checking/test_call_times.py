"""The call's start and end the Home Office's answer carries: what is charged, read
strictly (an answer no one could bill from is a failed check, never a guess)."""

from __future__ import annotations

import datetime as dt

import pytest

from caldicott.checking.connector import _Refused, call_times


def test_the_answers_times_are_read_in_utc() -> None:
    started, ended = call_times({"call_started": "2017-06-01T10:00:00+01:00",
                                 "call_ended": "2017-06-01T10:08:00+01:00"}) or (None, None)
    assert started == dt.datetime(2017, 6, 1, 9, 0, tzinfo=dt.UTC)
    assert ended is not None and ended - started == dt.timedelta(minutes=8)


def test_an_answer_without_times_gives_none() -> None:
    assert call_times({"immigration_status": "settled"}) is None


@pytest.mark.parametrize("times", [
    {"call_started": "2017-06-01T09:00:00+00:00"},  # no end
    {"call_started": "yesterday", "call_ended": "2017-06-01T09:08:00+00:00"},
    {"call_started": "2017-06-01T09:00:00", "call_ended": "2017-06-01T09:08:00"},  # no zone
    {"call_started": "2017-06-01T09:08:00+00:00", "call_ended": "2017-06-01T09:00:00+00:00"},
    {"call_started": "2017-06-01T09:00:00+00:00", "call_ended": "2017-06-03T09:00:00+00:00"},
])
def test_times_no_one_could_bill_from_are_refused(times: dict[str, str]) -> None:
    with pytest.raises(_Refused, match="call times"):
        call_times(times)
