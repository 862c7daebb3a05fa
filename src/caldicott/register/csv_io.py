"""The register's CSV format (pure: standard library only).

One row per address in a patient's history, oldest first; the patient's own
fields repeat on each row. A patient with no address has one row with the
address columns empty. ``previous_names`` holds earlier names as
``Given|Family`` pairs separated by ``;``. Dates are ISO (YYYY-MM-DD);
``restricted`` is ``true`` or ``false``.
"""

from __future__ import annotations

import csv
import datetime as dt
import operator
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from caldicott.postcodes import CANONICAL as _CANONICAL_POSTCODE
from caldicott.register.records import (
    _NAME,
    SEXES,
    Address,
    GPPractice,
    NewPatient,
    PatientRecord,
    PreviousName,
    RecordError,
    normalise_postcode,
    parse_date,
)

COLUMNS = (
    "nhs_number",
    "given_name",
    "family_name",
    "previous_names",
    "birth_date",
    "sex",
    "death_date",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "address_from",
    "address_to",
    "gp_practice_code",
    "gp_practice_name",
    "gp_practice_address",
    "primary_care_area",
    "registered_on",
    "restricted",
)
REQUIRED_COLUMNS = ("nhs_number", "given_name", "family_name", "birth_date")

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0", ""}


def _iso(value: object) -> str:
    return value.isoformat() if value is not None else ""  # type: ignore[attr-defined]


def record_to_rows(record: PatientRecord) -> list[dict[str, str]]:
    """The CSV rows of one patient: one per address, oldest first."""
    person = {
        "nhs_number": record.nhs_number,
        "given_name": record.given_name,
        "family_name": record.family_name,
        "previous_names": ";".join(f"{n.given}|{n.family}" for n in record.previous_names),
        "birth_date": record.birth_date.isoformat(),
        "sex": record.sex,
        "death_date": _iso(record.death_date),
        "gp_practice_code": record.gp.code if record.gp else "",
        "gp_practice_name": record.gp.name if record.gp else "",
        "gp_practice_address": record.gp.address if record.gp else "",
        "primary_care_area": record.primary_care_area or "",
        "registered_on": _iso(record.registered_on),
        "restricted": "true" if record.restricted else "false",
    }
    empty = {"address_line1": "", "address_line2": "", "town": "", "postcode": "",
             "address_from": "", "address_to": ""}
    if not record.addresses:
        return [person | empty]
    return [
        person | {
            "address_line1": a.line1, "address_line2": a.line2, "town": a.town,
            "postcode": a.postcode, "address_from": _iso(a.from_date),
            "address_to": _iso(a.to_date),
        }
        for a in record.addresses
    ]


def write_register_csv(records: Iterable[PatientRecord], out: Path | IO[str]) -> int:
    """Write records in the register's CSV format; returns how many patients.

    Example:
        >>> import io, datetime as dt
        >>> buf = io.StringIO()
        >>> write_register_csv([PatientRecord("9990000018", "Ann", "Lee",
        ...     dt.date(1980, 1, 2))], buf)
        1
    """
    if isinstance(out, Path):
        with out.open("w", newline="", encoding="utf-8") as handle:
            return write_register_csv(records, handle)
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerows(record_to_rows(record))
        count += 1
    return count


PERSON_COLUMNS = tuple(c for c in COLUMNS if not c.startswith("address_") and
                       c not in ("town", "postcode"))
ADDRESS_COLUMNS = ("address_line1", "address_line2", "town", "postcode", "address_from",
                   "address_to")


def _optional_date(raw: str, what: str) -> dt.date | None:
    return parse_date(raw, what) if raw else None


def _previous_names(raw: str) -> tuple[PreviousName, ...]:
    names = []
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        given, sep, family = part.partition("|")
        if not sep or not family.strip():
            raise RecordError(f"previous name {part!r} is not 'Given|Family'")
        names.append(PreviousName(given.strip(), family.strip()))
    return tuple(names)


def _restricted(raw: str) -> bool:
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RecordError(f"restricted {raw!r} is not true or false")


class RowReader:
    """Reads the rows of a register CSV by column position (fast for big files).

    A row is split into the patient's own fields (the person) and one address,
    so that consecutive rows of one patient parse the person once.
    """

    def __init__(self, header: list[str]) -> None:
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise RecordError(f"not a register CSV: missing column(s) {', '.join(missing)}")
        self.width = len(header)
        position = {name.strip(): i for i, name in enumerate(header)}
        # Every column present: a full-width row needs no padding (the fast path).
        self.complete = all(c in position for c in COLUMNS)
        self._person = operator.itemgetter(*(position.get(c, self.width) for c in PERSON_COLUMNS))
        self._address = operator.itemgetter(
            *(position.get(c, self.width) for c in ADDRESS_COLUMNS))

    def _pick(self, values: list[str], getter: Callable[[list[str]], tuple[str, ...]]
              ) -> tuple[str, ...]:
        # Missing columns point one past the header, at an empty string.
        padded = values + [""] * (self.width + 1 - len(values))
        return tuple(map(str.strip, getter(padded)))

    def person_key(self, values: list[str]) -> tuple[str, ...]:
        return self._pick(values, self._person)

    def person(self, key: tuple[str, ...], addresses: tuple[Address, ...] = ()) -> PatientRecord:
        """Parse the patient's own fields from :meth:`person_key`'s tuple.

        Raises:
            RecordError: the first reason the row cannot be read.
        """
        (nhs, given, family, previous, birth, sex, death, gp_code, gp_name, gp_address,
         area, registered, restricted) = key
        if not birth:
            raise RecordError("date of birth is missing")
        return PatientRecord(
            nhs_number=nhs.replace(" ", ""), given_name=given, family_name=family,
            birth_date=parse_date(birth, "date of birth"), sex=(sex or "unknown").lower(),
            death_date=_optional_date(death, "date of death"), addresses=addresses,
            previous_names=_previous_names(previous),
            gp=GPPractice(gp_code, gp_name, gp_address) if gp_code else None,
            primary_care_area=area or None,
            registered_on=_optional_date(registered, "date of registration"),
            restricted=_restricted(restricted),
        )

    def address(self, values: list[str]) -> Address | None:
        """The row's address, or None when its address columns are empty."""
        line1, line2, town, postcode, start, end = self._pick(values, self._address)
        if not (line1 or postcode):
            return None
        return Address(line1, line2, town, normalise_postcode(postcode),
                       _optional_date(start, "address from-date"),
                       _optional_date(end, "address to-date"))


def read_register_csv(handle: IO[str]) -> tuple[RowReader, Iterator[tuple[int, list[str]]]]:
    """A reader for the header and the numbered rows of a register CSV (header = row 1).

    Raises:
        RecordError: if the header lacks a required column.
    """
    rows = csv.reader(handle)
    header = next(rows, None)
    if header is None:
        raise RecordError("not a register CSV: the file is empty")
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    return RowReader(header), ((n, values) for n, values in enumerate(rows, start=2) if values)


# The fast path of a bulk load (:func:`new_patient`): a row whose values are
# already in their canonical form becomes table rows directly. Anything else
# (or anything doubtful) goes the ordinary way, so both give the same result.
_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
_NHS_OFFSET = ord("0") * sum(_NHS_WEIGHTS)
_OPEN_END = "9999-12-31"  # dt.date.max, as the merge sorts open ends


def canonical_date(raw: str) -> bool:
    """Whether ``raw`` is a real date written exactly as ``date.isoformat`` writes it."""
    if len(raw) != 10 or raw[4] != "-" or raw[7] != "-" or not raw.isascii():
        return False
    try:
        dt.date.fromisoformat(raw)
    except ValueError:
        return False
    return True


def address_fields(raw: tuple[str, ...]) -> tuple[str, str, str, str, object, object] | None:
    """A row's address as values; dates stay ISO strings when canonical.

    Checks in the order :meth:`RowReader.address` does, with its reasons.

    Raises:
        RecordError: the first reason the address cannot be read.
    """
    line1, line2, town, postcode, start, end = map(str.strip, raw)
    if not (line1 or postcode):
        return None
    if not _CANONICAL_POSTCODE.fullmatch(postcode):
        postcode = normalise_postcode(postcode)
    return (line1, line2, town, postcode,
            (start if canonical_date(start) else parse_date(start, "address from-date"))
            if start else None,
            (end if canonical_date(end) else parse_date(end, "address to-date"))
            if end else None)


def _valid_nhs(nhs: str) -> bool:
    if len(nhs) != 10 or not nhs.isascii() or not nhs.isdigit():
        return False
    check = 11 - (sum(map(operator.mul, nhs[:9].encode(), _NHS_WEIGHTS)) - _NHS_OFFSET) % 11
    return (0 if check == 11 else check) == ord(nhs[9]) - 48


def new_patient(key: tuple[str, ...], addresses: list[tuple[object, ...]],
                today: str) -> NewPatient | None:
    """The patient of a group of rows as table rows, if every value is canonical
    and valid and the address history needs no merging; else None (the caller
    reads the rows the ordinary way, which gives the reason).

    ``addresses`` are ``(nhs, position, line1, line2, town, postcode, from, to)``
    with ISO-string dates; ``today`` is today's ISO date.
    """
    (nhs, given, family, previous, birth, sex, death, gp_code, gp_name, gp_address,
     area, registered, restricted) = key
    if not (_valid_nhs(nhs) and family and (not given or _NAME.match(given))
            and _NAME.match(family) and canonical_date(birth)
            and "1880-01-01" <= birth <= today):
        return None
    sex = (sex or "unknown").lower()
    flag = restricted.lower()
    if (sex not in SEXES or flag not in _FLAGS
            or (death and (not canonical_date(death) or death < birth))
            or (registered and not canonical_date(registered))):
        return None
    names: tuple[tuple[str, int, str, str], ...] = ()
    if previous:
        found: list[tuple[str, int, str, str]] = []
        for part in filter(None, (p.strip() for p in previous.split(";"))):
            first, sep, last = part.partition("|")
            first, last = first.strip(), last.strip()
            if not (sep and (not first or _NAME.match(first)) and _NAME.match(last)):
                return None
            found.append((nhs, len(found), first, last))
        names = tuple(found)
    if addresses and not _history_in_order(addresses):
        return None
    return NewPatient(
        (nhs, given, family, birth, sex, death or None,
         addresses[-1][5] if addresses else None, gp_code or None, area or None,
         registered or None, _FLAGS[flag]),
        tuple(addresses), names, (gp_code, gp_name, gp_address) if gp_code else None)


_FLAGS = {**{v: True for v in _TRUE}, **{v: False for v in _FALSE}}


def _history_in_order(addresses: list[tuple[object, ...]]) -> bool:
    """Whether merging this history into an empty one leaves it as it is: dates
    canonical, each ending after it starts, distinct places, only the last open,
    already in the merge's chronological order."""
    last = len(addresses) - 1
    seen = set()
    previous: tuple[bool, str, str] | None = None
    for i, (_, _, line1, _, _, postcode, start, end) in enumerate(addresses):
        if not isinstance(start, str | None) or not isinstance(end, str | None):
            return False
        if end is None and i < last:
            return False
        if start is not None and end is not None and end < start:
            return False
        place = (line1, postcode, start)
        if place in seen:
            return False
        seen.add(place)
        order = (end is None, start or "", end or _OPEN_END)
        if previous is not None and order < previous:
            return False
        previous = order
    return True
