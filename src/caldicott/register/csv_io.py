"""The register's CSV format (pure: standard library only).

One row per address in a patient's history, oldest first; the patient's own
fields repeat on each row. A patient with no address has one row with the
address columns empty. ``previous_names`` holds earlier names as
``Given|Family`` pairs separated by ``;``. Dates are ISO (YYYY-MM-DD);
``restricted`` is ``true`` or ``false``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from caldicott.register.records import (
    Address,
    GPPractice,
    PatientRecord,
    PreviousName,
    RecordError,
    check_nhs_number,
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


def _optional_date(row: dict[str, str], column: str, what: str):  # type: ignore[no-untyped-def]
    raw = (row.get(column) or "").strip()
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
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RecordError(f"restricted {raw!r} is not true or false")


def row_to_record(row: dict[str, str]) -> PatientRecord:
    """Parse one CSV row into a one-address record (field checks only).

    Raises:
        RecordError: the first reason the row cannot be read.
    """
    def get(column: str) -> str:
        return (row.get(column) or "").strip()

    addresses: tuple[Address, ...] = ()
    if get("address_line1") or get("postcode"):
        addresses = (Address(
            line1=get("address_line1"), line2=get("address_line2"), town=get("town"),
            postcode=normalise_postcode(get("postcode")),
            from_date=_optional_date(row, "address_from", "address from-date"),
            to_date=_optional_date(row, "address_to", "address to-date"),
        ),)
    gp = None
    if get("gp_practice_code"):
        gp = GPPractice(get("gp_practice_code"), get("gp_practice_name"),
                        get("gp_practice_address"))
    birth_raw = get("birth_date")
    if not birth_raw:
        raise RecordError("date of birth is missing")
    return PatientRecord(
        nhs_number=check_nhs_number(get("nhs_number")),
        given_name=get("given_name"),
        family_name=get("family_name"),
        birth_date=parse_date(birth_raw, "date of birth"),
        sex=(get("sex") or "unknown").lower(),
        death_date=_optional_date(row, "death_date", "date of death"),
        addresses=addresses,
        previous_names=_previous_names(get("previous_names")),
        gp=gp,
        primary_care_area=get("primary_care_area") or None,
        registered_on=_optional_date(row, "registered_on", "date of registration"),
        restricted=_restricted(get("restricted")),
    )


def read_register_csv(handle: IO[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number, raw row) from a register CSV; the header is row 1.

    Raises:
        RecordError: if the header lacks a required column.
    """
    reader = csv.DictReader(handle)
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise RecordError(f"not a register CSV: missing column(s) {', '.join(missing)}")
    for number, row in enumerate(reader, start=2):
        yield number, row
