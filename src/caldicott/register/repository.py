"""Every query of the patient register.

Reads and writes whole :class:`PatientRecord` values; the tables are an
implementation detail of this module. Bulk writes use the fastest path each
backend offers (PostgreSQL ``COPY``, SQLite ``executemany``) because a national
register is tens of millions of rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
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
    text,
    update,
)
from sqlalchemy.orm import Session

from caldicott.db import bulk_insert, bulk_insert_rows
from caldicott.register.models import AddressRow, GPPracticeRow, PatientRow, PreviousNameRow
from caldicott.register.records import (
    Address,
    GPPractice,
    NewPatient,
    PatientRecord,
    PreviousName,
)

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
    if not patients:  # (an empty IN scans the address table on SQLite: seconds at 1M people)
        return {}
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


PATIENT_COLUMNS = ("nhs_number", "given_name", "family_name", "birth_date", "sex",
                   "death_date", "postcode", "gp_practice_code", "primary_care_area",
                   "registered_on", "restricted", "updated_at")
ADDRESS_COLUMNS = ("nhs_number", "position", "line1", "line2", "town", "postcode",
                   "from_date", "to_date")
NAME_COLUMNS = ("nhs_number", "position", "given_name", "family_name")


def _patient_row(record: PatientRecord, updated_at: Any) -> dict[str, Any]:
    return dict(zip(PATIENT_COLUMNS, _patient_tuple(record, updated_at), strict=True))


def _patient_tuple(record: PatientRecord | NewPatient, updated_at: Any) -> tuple[Any, ...]:
    if isinstance(record, NewPatient):
        return (*record.patient, updated_at)
    last = record.last_known_address
    return (record.nhs_number, record.given_name, record.family_name, record.birth_date,
            record.sex, record.death_date, last.postcode if last else None,
            record.gp.code if record.gp else None, record.primary_care_area,
            record.registered_on, record.restricted, updated_at)


def _address_rows(records: Sequence[PatientRecord | NewPatient]) -> Iterator[tuple[Any, ...]]:
    for r in records:
        if isinstance(r, NewPatient):
            yield from r.addresses
        else:
            for i, a in enumerate(r.addresses):
                yield (r.nhs_number, i, a.line1, a.line2, a.town, a.postcode, a.from_date,
                       a.to_date)


def _name_rows(records: Sequence[PatientRecord | NewPatient]) -> Iterator[tuple[Any, ...]]:
    for r in records:
        if isinstance(r, NewPatient):
            yield from r.names
        else:
            for i, n in enumerate(r.previous_names):
                yield (r.nhs_number, i, n.given, n.family)


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


def save_records(session: Session, created: Sequence[PatientRecord | NewPatient],
                 changed: Sequence[PatientRecord], updated_at: Any) -> None:
    """Write new patients and replace changed ones (with their histories)."""
    practices: dict[str, GPPractice] = {}
    for r in (*created, *changed):
        if isinstance(r, NewPatient):
            if r.gp:
                practices[r.gp[0]] = GPPractice(*r.gp)
        elif r.gp:
            practices[r.gp.code] = r.gp
    save_practices(session, practices)
    if created:
        bulk_insert_rows(session, PatientRow.__tablename__, PATIENT_COLUMNS,
                         [_patient_tuple(r, updated_at) for r in created])
    if changed:
        numbers = [r.nhs_number for r in changed]
        for table in (AddressRow, PreviousNameRow):
            session.execute(delete(table).where(_one_of(session, table.nhs_number, numbers)))
        for record in changed:
            row = _patient_row(record, updated_at)
            session.execute(update(PatientRow).where(PatientRow.nhs_number == row.pop(
                "nhs_number")).values(**row))
    both = [*created, *changed]
    bulk_insert_rows(session, AddressRow.__tablename__, ADDRESS_COLUMNS, _address_rows(both))
    bulk_insert_rows(session, PreviousNameRow.__tablename__, NAME_COLUMNS, _name_rows(both))


_REGISTER_TABLES = (PatientRow.__tablename__, AddressRow.__tablename__,
                    PreviousNameRow.__tablename__)


@contextmanager
def indexes_built_after(session: Session) -> Iterator[bool]:
    """Into an empty register, load first and build the secondary indexes after.

    One sort per index at the end costs far less than keeping every index up to
    date through millions of inserts; on PostgreSQL the foreign keys are checked
    once at the end too (one join instead of a trigger per row). Indexes and
    keys are dropped and rebuilt (from the database's own definitions) in the
    caller's transaction, so a rollback brings them back as they were; dropping
    them holds the register's tables until the transaction ends. Yields whether
    it deferred them: only when the register is empty (an import into a register
    that holds patients needs its indexes to look them up).
    """
    if session.scalar(select(PatientRow.nhs_number).limit(1)) is not None:
        yield False
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        tables: Any = list(_REGISTER_TABLES)
        keys = [(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"',
                 f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
                for table, name, definition in session.execute(text(
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                    "FROM pg_constraint WHERE contype = 'f' "
                    "AND conrelid = ANY(CAST(:tables AS regclass[]))"), {"tables": tables})]
        query = text("SELECT indexname, indexdef FROM pg_indexes "
                     "WHERE schemaname = current_schema() AND tablename = ANY(:tables) "
                     "AND indexdef NOT LIKE 'CREATE UNIQUE%'")
    else:
        tables, keys = json.dumps(_REGISTER_TABLES), []
        query = text("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                     "AND tbl_name IN (SELECT value FROM json_each(:tables)) "
                     "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'")
    steps = [*keys, *((f'DROP INDEX "{name}"', definition)
                      for name, definition in session.execute(query, {"tables": tables}))]
    raw = session.connection().connection.driver_connection
    if isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
        # The driver opens a transaction only before DML; DDL must be in it too.
        raw.execute("BEGIN")
    for drop, _ in steps:
        session.execute(text(drop))
    yield True
    if postgres:
        # Each index is one sort of the whole table: in memory, not in temp files.
        session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for _, create in reversed(steps):
        session.execute(text(create))
