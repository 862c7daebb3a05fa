"""The register's value objects: a patient as the Personal Demographics Service
holds one (non-clinical demographics only), and the checks every incoming
record must pass.

Pure: imports neither SQLAlchemy nor FastAPI. Importers (CSV, FHIR), the
synthetic generator and the matcher all speak :class:`PatientRecord`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from nhs_number.validate import calculate_checksum

from caldicott.postcodes import SPACED_OR_NOT as _POSTCODE

SEXES = ("male", "female", "other", "unknown")

# Letters of any script, with the joiners real names use (O'Neil, Jean-Luc, St. John).
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '\u2019.-])*$")


class RecordError(ValueError):
    """A record that cannot enter the register, with the reason in plain words."""


def normalise_postcode(raw: str) -> str:
    """Upper-case a postcode and put one space before the inward code.

    Example:
        >>> normalise_postcode("sw1a2aa")
        'SW1A 2AA'
    """
    compact = re.sub(r"\s+", "", raw).upper()
    match = _POSTCODE.match(compact)
    if not match:
        raise RecordError(f"postcode {raw!r} is not a UK postcode shape")
    return f"{match.group(1)} {match.group(2)}"


def check_nhs_number(raw: str) -> str:
    """Return a 10-digit NHS number, or raise if its modulus-11 check digit is wrong.

    Example:
        >>> check_nhs_number("999 000 0018")
        '9990000018'
    """
    digits = raw.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        raise RecordError(f"NHS number {raw!r} is not 10 digits")
    if calculate_checksum(digits[:9]) != int(digits[9]):
        raise RecordError(f"NHS number {raw!r} fails the modulus-11 check")
    return digits


@dataclass(frozen=True, slots=True)
class Address:
    """One address in a patient's history; ``to_date`` is None for the open one."""

    line1: str
    line2: str
    town: str
    postcode: str
    from_date: dt.date | None = None
    to_date: dt.date | None = None

    @property
    def is_current(self) -> bool:
        return self.to_date is None

    def same_place(self, other: Address) -> bool:
        return (self.line1, self.postcode) == (other.line1, other.postcode)


@dataclass(frozen=True, slots=True)
class PreviousName:
    given: str
    family: str


@dataclass(frozen=True, slots=True)
class GPPractice:
    code: str
    name: str
    address: str = ""


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """A patient's demographic record.

    ``given_name`` is ``""`` for a person with one name (their family name).
    ``addresses`` is the address history oldest first; the last known address
    is the open one (``to_date`` None), else the latest.
    """

    nhs_number: str
    given_name: str
    family_name: str
    birth_date: dt.date
    sex: str = "unknown"
    death_date: dt.date | None = None
    addresses: tuple[Address, ...] = ()
    previous_names: tuple[PreviousName, ...] = ()
    gp: GPPractice | None = None
    primary_care_area: str | None = None
    registered_on: dt.date | None = None
    restricted: bool = False
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def last_known_address(self) -> Address | None:
        open_ = [a for a in self.addresses if a.is_current]
        if open_:
            return open_[-1]
        return self.addresses[-1] if self.addresses else None


class NewPatient:
    """A valid patient already in the shape of the register's rows (for bulk loads).

    A CSV import makes these for clean rows instead of a :class:`PatientRecord`
    per patient: it saves building and re-checking objects for the millions of
    patients a register load brings. The values are exactly those
    :func:`check_record` would have accepted (dates as ISO strings);
    :meth:`record` gives the equal :class:`PatientRecord` when a patient must be
    merged with one the register already holds.
    """

    __slots__ = ("addresses", "gp", "names", "nhs_number", "patient")

    def __init__(self, patient: tuple[object, ...], addresses: tuple[tuple[object, ...], ...],
                 names: tuple[tuple[str, int, str, str], ...],
                 gp: tuple[str, str, str] | None) -> None:
        # patient: nhs_number, given_name, family_name, birth_date, sex, death_date,
        #   postcode (of the last known address), gp_practice_code, primary_care_area,
        #   registered_on, restricted
        # addresses: (nhs_number, position, line1, line2, town, postcode, from, to)
        # names: (nhs_number, position, given, family)
        self.nhs_number: str = patient[0]  # type: ignore[assignment]
        self.patient = patient
        self.addresses = addresses
        self.names = names
        self.gp = gp

    def __reduce__(self) -> tuple[type[NewPatient], tuple[object, ...]]:
        return NewPatient, (self.patient, self.addresses, self.names, self.gp)

    def record(self) -> PatientRecord:
        (nhs, given, family, birth, sex, death, _, _, area, registered,
         restricted) = self.patient
        return PatientRecord(
            nhs_number=nhs, given_name=given, family_name=family,  # type: ignore[arg-type]
            birth_date=_date(birth), sex=sex, death_date=_optional(death),  # type: ignore[arg-type]
            addresses=tuple(Address(a[2], a[3], a[4], a[5], _optional(a[6]),  # type: ignore[arg-type]
                                    _optional(a[7])) for a in self.addresses),
            previous_names=tuple(PreviousName(n[2], n[3]) for n in self.names),
            gp=GPPractice(*self.gp) if self.gp else None,
            primary_care_area=area, registered_on=_optional(registered),  # type: ignore[arg-type]
            restricted=restricted)  # type: ignore[arg-type]


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)  # type: ignore[arg-type]


def _optional(value: object) -> dt.date | None:
    return None if value is None else _date(value)


def check_record(record: PatientRecord, today: dt.date | None = None) -> PatientRecord:
    """Validate a record's own fields (not against the register).

    Raises:
        RecordError: with the first reason the record cannot enter the register.
    """
    today = today or dt.date.today()
    check_nhs_number(record.nhs_number)
    if not record.family_name.strip():
        raise RecordError("family name is missing")
    for previous in record.previous_names:
        if not previous.family.strip():
            raise RecordError("a previous name has no family name")
    # A given name may be empty: people with one name exist (PDS holds them, their
    # one name as the family name). Written ones must still be names.
    for name in (record.given_name, record.family_name,
                 *(n for p in record.previous_names for n in (p.given, p.family))):
        if name and (not _NAME.match(name) or name != name.strip()):
            raise RecordError(f"name {name!r} has characters a name cannot hold")
    if record.birth_date > today:
        raise RecordError(f"date of birth {record.birth_date.isoformat()} is in the future")
    if record.birth_date.year < 1880:
        raise RecordError(f"date of birth {record.birth_date.isoformat()} is impossible")
    if record.sex not in SEXES:
        raise RecordError(f"sex {record.sex!r} is not one of {', '.join(SEXES)}")
    if record.death_date and record.death_date < record.birth_date:
        raise RecordError("date of death is before date of birth")
    for address in record.addresses:
        if address.from_date and address.to_date and address.to_date < address.from_date:
            raise RecordError(f"address at {address.postcode} ends before it starts")
    return record


def parse_date(raw: str, what: str) -> dt.date:
    """Parse an ISO date (YYYY-MM-DD), naming the field in the error."""
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise RecordError(f"{what} {raw!r} is not a real date (YYYY-MM-DD)") from None
