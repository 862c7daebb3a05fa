"""A call log for the seeds' published figures (pure): for each year, calls on random
working days and hours from organisations that had signed by then, with durations whose
charges (under the price file's own rule) add up to the published total to the penny.

The seeds say calls take "around eight minutes"; the published totals imply otherwise
(at 80p a minute: 8.4 minutes in 2016/17, 6.2 in 2017/18, 4.3 in 2018/19). The log
follows the totals, and the demo prints both.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

ENGLAND = ZoneInfo("Europe/London")


@dataclass(frozen=True, slots=True)
class PublishedYear:
    year: str
    calls: int
    pence: int
    first_day: dt.date
    last_day: dt.date  # inclusive


#: The seeds' figures (Coventry Telegraph, c. 2019): 2018/19 only to 20 November 2018.
PUBLISHED = (
    PublishedYear("2016/17", 648, 434_200, dt.date(2016, 9, 1), dt.date(2017, 3, 31)),
    PublishedYear("2017/18", 4_759, 2_362_000, dt.date(2017, 4, 1), dt.date(2018, 3, 31)),
    PublishedYear("2018/19", 5_049, 1_718_300, dt.date(2018, 4, 1), dt.date(2018, 11, 20)),
)
SAID_MINUTES = 8  # "around eight minutes"


@dataclass(frozen=True, slots=True)
class LoggedCall:
    organisation: str
    started: dt.datetime  # UTC
    seconds: int

    @property
    def ended(self) -> dt.datetime:
        return self.started + dt.timedelta(seconds=self.seconds)


def implied_minutes(year: PublishedYear, pence_per_minute: int = 80) -> float:
    """The average call length a year's published figures imply.

    Example:
        >>> [round(implied_minutes(y), 1) for y in PUBLISHED]
        [8.4, 6.2, 4.3]
    """
    return year.pence / pence_per_minute / year.calls


def make_log(year: PublishedYear, signed: Mapping[str, dt.date],
             charge: Callable[[int], int], seed: int = 2016) -> list[LoggedCall]:
    """Calls for one published year, their charges summing exactly to ``year.pence``."""
    rng = random.Random(f"{seed}-{year.year}")
    span = (year.last_day - year.first_day).days + 1
    starts = []
    for _ in range(year.calls):
        day = year.first_day + dt.timedelta(days=rng.randrange(span))
        able = sorted(code for code, on in signed.items() if on <= day)
        moment = dt.datetime.combine(day, dt.time(8), ENGLAND) + dt.timedelta(
            seconds=rng.randrange(10 * 3600))
        starts.append((moment.astimezone(dt.UTC), rng.choice(able)))
    starts.sort()
    seconds = _durations(rng, year, charge)
    return [LoggedCall(org, start, s) for (start, org), s in zip(starts, seconds, strict=True)]


def _durations(rng: random.Random, year: PublishedYear, charge: Callable[[int], int]) -> list[int]:
    mean = implied_minutes(year) * 60
    raw = [min(max(rng.gammavariate(4.0, mean / 4.0), 60.0), 3600.0) for _ in range(year.calls)]
    scale = year.pence / sum(charge(round(r)) for r in raw)
    seconds = [max(30, round(r * scale)) for r in raw]
    return _settle(seconds, year.pence, charge)


def _settle(seconds: list[int], target: int, charge: Callable[[int], int]) -> list[int]:
    """Nudge durations a second at a time until the rounded charges sum to ``target``."""
    charges = [charge(s) for s in seconds]
    owed, i = target - sum(charges), 0
    while owed:
        j, step = i % len(seconds), 1 if owed > 0 else -1
        moved = seconds[j] + step
        if moved >= 30:
            change = charge(moved) - charges[j]
            if abs(owed - change) < abs(owed):
                seconds[j], charges[j], owed = moved, charges[j] + change, owed - change
        i += 1
    return seconds
