"""Every query of the matcher: models, and the blocking index over the register."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from caldicott.db import bulk_insert
from caldicott.matching.core.index import lookups
from caldicott.matching.core.normalise import (
    BLOCKING_KEYS,
    Person,
    from_index,
    normalise_person,
)
from caldicott.matching.models import MatchIndexRow, MatchingModelRow
from caldicott.register.records import PatientRecord
from caldicott.register.repository import iter_records

INDEX = MatchIndexRow.__table__
_SCORED = ("id", "nhs_number", "given_name", "family_name", "given_nicks", "birth_date",
           "postcode", "sex", "tf_given_name", "tf_family_name", "tf_postcode")


# --- models -------------------------------------------------------------------------

def save_model(session: Session, *, model_json: str, sha256: str, pins: list[dict[str, Any]],
               link_type: str, trained_on: str) -> MatchingModelRow:
    """Store a model as the next version and make it the active one.

    A model identical to a stored one (same hash) is not stored twice: that
    version becomes the active one again.
    """
    session.execute(update(MatchingModelRow).values(active=False))
    same = session.scalar(select(MatchingModelRow).where(MatchingModelRow.sha256 == sha256))
    if same is not None:
        same.active = True
        session.flush()
        return same
    version = (session.scalar(select(func.max(MatchingModelRow.version))) or 0) + 1
    row = MatchingModelRow(version=version, sha256=sha256, model_json=model_json,
                           pins_json=json.dumps(pins), link_type=link_type,
                           trained_on=trained_on, active=True)
    session.add(row)
    session.flush()
    return row


def active_model_version(session: Session) -> tuple[int, str] | None:
    row = session.execute(select(MatchingModelRow.version, MatchingModelRow.sha256)
                          .where(MatchingModelRow.active)
                          .order_by(MatchingModelRow.version.desc()).limit(1)).first()
    return (row[0], row[1]) if row else None


def model_by_version(session: Session, version: int) -> MatchingModelRow | None:
    return session.get(MatchingModelRow, version)


def list_models(session: Session) -> list[MatchingModelRow]:
    return list(session.scalars(select(MatchingModelRow).order_by(MatchingModelRow.version)))


# --- the blocking index ---------------------------------------------------------------

def index_people(record: PatientRecord) -> Iterator[Person]:
    """The ways one register person can be found: current details, each previous
    name (at the current postcode), each earlier postcode (under the current name)."""
    address = record.last_known_address
    postcode = address.postcode if address else None
    nhs = record.nhs_number

    def person(variant: str, given: str, family: str, pc: str | None) -> Person:
        return normalise_person(f"{nhs}:{variant}", given, family, record.birth_date, pc,
                                record.sex, nhs_number=nhs)

    yield person("current", record.given_name, record.family_name, postcode)
    for i, name in enumerate(record.previous_names):
        if (name.given, name.family) != (record.given_name, record.family_name):
            yield person(f"name{i}", name.given, name.family, postcode)
    seen = {postcode}
    for i, old in enumerate(record.addresses):
        if old.postcode not in seen:
            seen.add(old.postcode)
            yield person(f"address{i}", record.given_name, record.family_name, old.postcode)


def register_people(session: Session) -> Iterator[Person]:
    for record in iter_records(session):
        yield from index_people(record)


def _index_row(person: Person, tf: dict[str, dict[str, float]] | None = None
               ) -> dict[str, Any]:
    row = {"nhs_number": person.nhs_number, "variant": person.record_id.split(":", 1)[1],
           "given_name": person.given_name, "family_name": person.family_name,
           "given_nicks": "|".join(person.given_nicks) if person.given_nicks else None,
           "birth_date": person.birth_date, "postcode": person.postcode, "sex": person.sex,
           "tf_given_name": person.tf_given_name, "tf_family_name": person.tf_family_name,
           "tf_postcode": person.tf_postcode}
    if tf is not None:  # the register's frequencies of this row's values
        for column in ("given_name", "family_name", "postcode"):
            value = getattr(person, column)
            row[f"tf_{column}"] = tf[column].get(value) if value is not None else None
    row.update({key: getattr(person, key) for key in BLOCKING_KEYS})
    return row


def replace_index(session: Session, people: Iterable[Person], chunk: int = 20_000,
                  tf: dict[str, dict[str, float]] | None = None) -> int:
    """Empty the index and fill it with ``people``, with the term frequencies
    ``tf`` (or those the people carry)."""
    session.execute(delete(MatchIndexRow))
    session.flush()
    count, batch = 0, []
    for person in people:
        batch.append(_index_row(person, tf))
        if len(batch) >= chunk:
            bulk_insert(session, "match_index", batch)
            count, batch = count + len(batch), []
    bulk_insert(session, "match_index", batch)
    return count + len(batch)


def count_index_rows(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(MatchIndexRow)) or 0


def candidate_rows(session: Session, request: Person) -> list[Person]:
    """Register rows sharing a blocking key with the request: one indexed query."""
    wanted = lookups(request)
    if not wanted:
        return []
    columns = [INDEX.c[name] for name in _SCORED]
    query = select(*columns).where(or_(*(INDEX.c[column] == value for column, value in wanted)))
    return [from_index(str(r[0]), *r[1:]) for r in session.execute(query).all()]


def all_index_rows(session: Session) -> Iterator[Person]:
    """Every index row, scorable and with its blocking keys (Splink's batch path)."""
    columns = [INDEX.c[name] for name in (*_SCORED, *BLOCKING_KEYS)]
    width = len(_SCORED)
    for r in session.execute(select(*columns).order_by(INDEX.c.id)).yield_per(50_000):
        keys = dict(zip(BLOCKING_KEYS, r[width:], strict=True))
        yield replace(from_index(str(r[0]), *r[1:width]), **keys)
