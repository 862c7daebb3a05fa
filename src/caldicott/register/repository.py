"""Every query of the patient register.

Reads and writes whole :class:`PatientRecord` values; the tables are an
implementation detail of this module. Bulk writes use the fastest path each
backend offers (PostgreSQL ``COPY``, SQLite ``executemany``) because a national
register is tens of millions of rows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    String,
    any_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session

from caldicott.db import bulk_insert
from caldicott.register.models import AddressRow, GPPracticeRow, PatientRow, PreviousNameRow
from caldicott.register.records import Address, GPPractice, PatientRecord, PreviousName

_PATIENT_FIELDS = ("given_name", "family_name", "birth_date", "sex", "death_date",
                   "primary_care_area", "registered_on", "restricted")


def _one_of(session: Session, column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """``column IN values`` as one bound parameter.

    A plain ``IN`` compiles one parameter per value; at thousands of values a
    batch that costs more than the query. PostgreSQL takes an array, SQLite a
    JSON list it unpacks with ``json_each``.
    """
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        condition: ColumnElement[bool] = column == any_(
            bindparam("values", values, type_=ARRAY(String)))
        return condition
    unpacked: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam("values", json.dumps(values))))
    condition = column.in_(unpacked.scalar_subquery())
    return condition


def count_patients(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PatientRow)) or 0


def load_records(session: Session, nhs_numbers: Iterable[str]) -> dict[str, PatientRecord]:
    """The register's records for these NHS numbers (those it holds)."""
    numbers = list(nhs_numbers)
    if not numbers:
        return {}
    patients = session.execute(
        select(PatientRow.__table__).where(_one_of(session, PatientRow.nhs_number, numbers))
    ).mappings().all()
    return _assemble(session, patients)


def _assemble(session: Session, patients: Sequence[Any]) -> dict[str, PatientRecord]:
    numbers = [p["nhs_number"] for p in patients]
    addresses: dict[str, list[Address]] = defaultdict(list)
    for row in session.execute(
        select(AddressRow.__table__).where(_one_of(session, AddressRow.nhs_number, numbers))
        .order_by(AddressRow.nhs_number, AddressRow.position)
    ).mappings():
        addresses[row["nhs_number"]].append(Address(
            row["line1"], row["line2"], row["town"], row["postcode"],
            row["from_date"], row["to_date"]))
    names: dict[str, list[PreviousName]] = defaultdict(list)
    for row in session.execute(
        select(PreviousNameRow.__table__)
        .where(_one_of(session, PreviousNameRow.nhs_number, numbers))
        .order_by(PreviousNameRow.nhs_number, PreviousNameRow.position)
    ).mappings():
        names[row["nhs_number"]].append(PreviousName(row["given_name"], row["family_name"]))
    codes = {p["gp_practice_code"] for p in patients if p["gp_practice_code"]}
    practices = {
        row.code: GPPractice(row.code, row.name, row.address)
        for row in session.execute(
            select(GPPracticeRow.__table__).where(_one_of(session, GPPracticeRow.code, codes)))
    } if codes else {}
    return {
        p["nhs_number"]: PatientRecord(
            nhs_number=p["nhs_number"],
            **{field: p[field] for field in _PATIENT_FIELDS},
            addresses=tuple(addresses[p["nhs_number"]]),
            previous_names=tuple(names[p["nhs_number"]]),
            gp=practices.get(p["gp_practice_code"]),
        )
        for p in patients
    }


def iter_records(session: Session, page_size: int = 5000) -> Iterator[PatientRecord]:
    """Every record in NHS-number order, a page at a time (memory stays flat)."""
    after = ""
    while True:
        patients = session.execute(
            select(PatientRow.__table__).where(PatientRow.nhs_number > after)
            .order_by(PatientRow.nhs_number).limit(page_size)
        ).mappings().all()
        if not patients:
            return
        records = _assemble(session, patients)
        yield from (records[p["nhs_number"]] for p in patients)
        after = patients[-1]["nhs_number"]


def _patient_row(record: PatientRecord, updated_at: Any) -> dict[str, Any]:
    last = record.last_known_address
    return {
        "nhs_number": record.nhs_number,
        **{field: getattr(record, field) for field in _PATIENT_FIELDS},
        "postcode": last.postcode if last else None,
        "gp_practice_code": record.gp.code if record.gp else None,
        "updated_at": updated_at,
    }


def _child_rows(records: Sequence[PatientRecord]) -> tuple[list[dict[str, Any]], ...]:
    addresses = [
        {"nhs_number": r.nhs_number, "position": i, "line1": a.line1, "line2": a.line2,
         "town": a.town, "postcode": a.postcode, "from_date": a.from_date, "to_date": a.to_date}
        for r in records for i, a in enumerate(r.addresses)
    ]
    names = [
        {"nhs_number": r.nhs_number, "position": i, "given_name": n.given,
         "family_name": n.family}
        for r in records for i, n in enumerate(r.previous_names)
    ]
    return addresses, names


def save_practices(session: Session, practices: dict[str, GPPractice]) -> None:
    """Insert new GP practices and bring changed names or addresses up to date."""
    if not practices:
        return
    known = {row.code: row for row in session.execute(
        select(GPPracticeRow.__table__)
        .where(_one_of(session, GPPracticeRow.code, list(practices))))}
    new = [{"code": p.code, "name": p.name, "address": p.address}
           for code, p in practices.items() if code not in known]
    bulk_insert(session, GPPracticeRow.__tablename__, new)
    for code, practice in practices.items():
        row = known.get(code)
        if row is not None and (row.name, row.address) != (practice.name, practice.address):
            session.execute(update(GPPracticeRow).where(GPPracticeRow.code == code)
                            .values(name=practice.name, address=practice.address))


def save_records(session: Session, created: Sequence[PatientRecord],
                 changed: Sequence[PatientRecord], updated_at: Any) -> None:
    """Write new patients and replace changed ones (with their histories)."""
    practices = {r.gp.code: r.gp for r in (*created, *changed) if r.gp}
    save_practices(session, practices)
    bulk_insert(session, PatientRow.__tablename__, [_patient_row(r, updated_at) for r in created])
    if changed:
        numbers = [r.nhs_number for r in changed]
        for table in (AddressRow, PreviousNameRow):
            session.execute(delete(table).where(_one_of(session, table.nhs_number, numbers)))
        for record in changed:
            row = _patient_row(record, updated_at)
            session.execute(update(PatientRow).where(PatientRow.nhs_number == row.pop(
                "nhs_number")).values(**row))
    addresses, names = _child_rows([*created, *changed])
    bulk_insert(session, AddressRow.__tablename__, addresses)
    bulk_insert(session, PreviousNameRow.__tablename__, names)
