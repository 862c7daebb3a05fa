"""NHS financial years (1 April to 31 March) and months, in the time of England.

A call belongs to the year and month in which it *started*, read on the clock in
England (Europe/London): a call started at 23:59:30 on 31 March belongs to the year
that ends that night, even though it ends in April. Timestamps are stored in UTC;
31 March is often in British Summer Time, when 23:59:30 local is 22:59:30 UTC, so
the conversion matters.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from caldicott.errors import InvalidInput

ENGLAND = ZoneInfo("Europe/London")
_YEAR = re.compile(r"^(\d{4})/(\d{2})$")


def local(moment: dt.datetime) -> dt.datetime:
    """``moment`` on the clock in England; a naive time is refused."""
    if moment.tzinfo is None:
        raise InvalidInput("a time without a time zone cannot be placed in a year")
    return moment.astimezone(ENGLAND)


def financial_year(moment: dt.datetime) -> str:
    """The NHS financial year a moment falls in, as ``2017/18``.

    Example:
        >>> financial_year(dt.datetime(2018, 3, 31, 22, 59, 30, tzinfo=dt.UTC))
        '2017/18'
        >>> financial_year(dt.datetime(2018, 3, 31, 23, 0, 0, tzinfo=dt.UTC))
        '2018/19'
    """
    day = local(moment).date()
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def month_of(moment: dt.datetime) -> str:
    """The calendar month (in England) a moment falls in, as ``2017-06``.

    Example:
        >>> month_of(dt.datetime(2017, 5, 31, 23, 30, tzinfo=dt.UTC))
        '2017-06'
    """
    return local(moment).strftime("%Y-%m")


def parse_year(text: str) -> int:
    """The first calendar year of a financial year written ``2017/18``.

    Example:
        >>> parse_year("2017/18")
        2017
    """
    found = _YEAR.match(text.strip())
    if not found or (int(found.group(1)) + 1) % 100 != int(found.group(2)):
        raise InvalidInput(f"a financial year is written like 2017/18, not {text!r}")
    return int(found.group(1))


def year_bounds(text: str) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of a financial year and the first instant after it (UTC).

    Example:
        >>> [t.isoformat() for t in year_bounds("2016/17")]
        ['2016-04-01T00:00:00+01:00', '2017-04-01T00:00:00+01:00']
    """
    start = parse_year(text)
    return (dt.datetime(start, 4, 1, tzinfo=ENGLAND), dt.datetime(start + 1, 4, 1, tzinfo=ENGLAND))


def months_of_year(text: str) -> list[str]:
    """The twelve months of a financial year, April first.

    Example:
        >>> months_of_year("2017/18")[0], months_of_year("2017/18")[-1]
        ('2017-04', '2018-03')
    """
    start = parse_year(text)
    return [f"{start + (m > 12)}-{(m - 1) % 12 + 1:02d}" for m in range(4, 16)]
