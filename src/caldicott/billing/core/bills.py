"""Usage events and the bills summed from them (pure): integer pence throughout."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from caldicott.billing.core.prices import PriceList
from caldicott.billing.core.years import financial_year, month_of
from caldicott.errors import InvalidInput

_EVENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,79}$")


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One metered use: a call to the checking line, or a spell of an on-site officer's time.

    ``event_id`` is the event's identity: the same event recorded twice counts once.

    Example:
        >>> start = dt.datetime(2017, 6, 1, 9, tzinfo=dt.UTC)
        >>> UsageEvent("call/1", 7, "call", start, start + dt.timedelta(minutes=8)).seconds
        480
    """

    event_id: str
    organisation_id: int
    kind: str  # "call" or "officer"
    started_at: dt.datetime
    ended_at: dt.datetime

    def __post_init__(self) -> None:
        if not _EVENT_ID.match(self.event_id):
            raise InvalidInput(f"a usage event id is 1-80 letters, digits or . _ : / -, "
                               f"not {self.event_id!r}")
        if self.kind not in ("call", "officer"):
            raise InvalidInput(f"usage is a call or officer time, not {self.kind!r}")
        if self.started_at.tzinfo is None or self.ended_at.tzinfo is None:
            raise InvalidInput("usage times must carry a time zone")
        if self.ended_at < self.started_at:
            raise InvalidInput(f"usage event {self.event_id} ends before it starts")

    @property
    def seconds(self) -> int:
        """Whole seconds, counted from whole-second start and end (fractions dropped)."""
        return int(self.ended_at.timestamp()) - int(self.started_at.timestamp())


@dataclass(frozen=True, slots=True)
class RatedEvent:
    """An event with its price version, charge and the year and month it is billed in."""

    event: UsageEvent
    seconds: int
    price_version: str
    amount_pence: int
    financial_year: str
    month: str


def rate(event: UsageEvent, prices: PriceList) -> RatedEvent:
    """Price an event under the version in force on the day (in England) it started.

    Example:
        >>> from caldicott.billing.core.prices import load_prices
        >>> start = dt.datetime(2018, 3, 31, 22, 59, 30, tzinfo=dt.UTC)  # 23:59:30 BST
        >>> r = rate(UsageEvent("call/9", 1, "call", start, start + dt.timedelta(minutes=6)),
        ...          load_prices())
        >>> r.amount_pence, r.financial_year, r.month
        (480, '2017/18', '2018-03')
    """
    from caldicott.billing.core.years import local

    version = prices.on(local(event.started_at).date())
    tariff = version.tariffs.get(event.kind)
    if tariff is None:
        raise InvalidInput(f"price version {version.version} prices no {event.kind}")
    seconds = event.seconds
    return RatedEvent(event, seconds, version.version, tariff.charge(seconds),
                      financial_year(event.started_at), month_of(event.started_at))


@dataclass(frozen=True, slots=True)
class Bill:
    """One organisation's bill for a period (a financial year, or one month of it)."""

    organisation: str
    period: str  # "2017/18" or "2017-06"
    calls: int
    call_seconds: int
    call_pence: int
    officer_seconds: int
    officer_pence: int
    credited_pence: int

    @property
    def charged_pence(self) -> int:
        return self.call_pence + self.officer_pence

    @property
    def total_pence(self) -> int:
        """What is owed: everything charged, less credit notes."""
        return self.charged_pence - self.credited_pence


def pounds(pence: int) -> str:
    """Pence as pounds, exactly, e.g. ``£4,342.00``.

    Example:
        >>> pounds(434200), pounds(-5), pounds(1718300)
        ('£4,342.00', '-£0.05', '£17,183.00')
    """
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}£{whole:,}.{part:02d}"
