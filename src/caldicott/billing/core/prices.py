"""Prices, versioned by date like agreements, and the rules that turn a duration into pence.

A price file (TOML, ``billing/prices/*.toml``) states for each kind of usage its unit
price in whole pence, how a duration is charged (``per_second``: the exact share of the
unit price; ``per_started_minute``: every minute begun is a whole minute) and how the
charge of one item is rounded to the penny (``half_up`` or ``half_even``). Arithmetic is
Decimal on integers: a float never touches money.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tomllib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

from caldicott.errors import InvalidInput

DurationRule = Literal["per_second", "per_started_minute"]
Rounding = Literal["half_up", "half_even"]
KINDS = ("call", "officer")
_UNITS = {"minute": 60, "hour": 3600}
_ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}
PRICES_DIR = Path(__file__).parents[1] / "prices"


@dataclass(frozen=True, slots=True)
class Tariff:
    """How one kind of usage is charged: ``pence`` per ``unit`` (a minute or an hour)."""

    pence: int
    unit: Literal["minute", "hour"]
    duration: DurationRule
    rounding: Rounding

    def charge(self, seconds: int) -> int:
        """The charge of one item lasting ``seconds``, in whole pence.

        Example:
            >>> Tariff(80, "minute", "per_second", "half_up").charge(8 * 60 + 1)
            641
            >>> Tariff(80, "minute", "per_started_minute", "half_up").charge(8 * 60 + 1)
            720
        """
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise InvalidInput(f"a duration is a whole number of seconds, not {seconds!r}")
        unit_seconds = _UNITS[self.unit]
        if self.duration == "per_started_minute":
            minutes = -(-seconds // 60)
            exact = Decimal(minutes * 60 * self.pence) / Decimal(unit_seconds)
        else:
            exact = Decimal(seconds * self.pence) / Decimal(unit_seconds)
        return int(exact.quantize(Decimal(1), rounding=_ROUNDING[self.rounding]))


@dataclass(frozen=True, slots=True)
class PriceVersion:
    version: str
    effective_from: dt.date
    effective_to: dt.date | None
    tariffs: dict[str, Tariff]
    source: str

    def covers(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


@dataclass(frozen=True, slots=True)
class PriceList:
    """Every version of one price file, in date order."""

    name: str
    versions: tuple[PriceVersion, ...]

    def on(self, day: dt.date) -> PriceVersion:
        """The version in force on ``day``.

        Example:
            >>> load_prices().on(dt.date(2017, 6, 1)).tariffs["call"].pence
            80
        """
        for version in self.versions:
            if version.covers(day):
                return version
        raise InvalidInput(f"no price of {self.name} is in force on {day.isoformat()}")


def load_prices(path: Path | None = None) -> PriceList:
    """Load a price file (the checking service's, by default); a bad file is one clear error."""
    path = path or PRICES_DIR / "checking-service.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        versions = tuple(sorted((_version(v) for v in raw["version"]),
                                key=lambda v: v.effective_from))
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise InvalidInput(f"{path.name}: not a price file: {error}") from None
    _refuse_overlaps(path.name, versions)
    return PriceList(str(raw.get("name", path.stem)), versions)


def _version(raw: dict[str, Any]) -> PriceVersion:
    tariffs = {kind: _tariff(raw[kind]) for kind in KINDS if kind in raw}
    if not tariffs:
        raise ValueError("a version prices nothing")
    return PriceVersion(str(raw["version"]), raw["effective_from"], raw.get("effective_to"),
                        tariffs, str(raw.get("source", "")))


def _tariff(raw: dict[str, Any]) -> Tariff:
    pence = raw["pence"]
    if isinstance(pence, bool) or not isinstance(pence, int) or pence < 0:
        raise ValueError(f"a price is whole pence, not {pence!r}")
    if raw["unit"] not in _UNITS or raw["duration"] not in ("per_second", "per_started_minute"):
        raise ValueError(f"unknown unit or duration rule in {raw!r}")
    if raw["rounding"] not in _ROUNDING:
        raise ValueError(f"unknown rounding {raw['rounding']!r}")
    return Tariff(pence, raw["unit"], raw["duration"], raw["rounding"])


def _refuse_overlaps(name: str, versions: tuple[PriceVersion, ...]) -> None:
    for earlier, later in itertools.pairwise(versions):
        if earlier.effective_to is None or earlier.effective_to > later.effective_from:
            raise InvalidInput(f"{name}: versions {earlier.version} and {later.version} overlap")
