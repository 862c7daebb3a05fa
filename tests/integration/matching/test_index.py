"""The blocking index: built from lean queries, and rebuilt in bulk, the same rows."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, inspect, select
from sqlalchemy.orm import Session

from caldicott.db import make_engine, unit_of_work
from caldicott.matching import repository
from caldicott.matching.frames import term_frequencies
from caldicott.matching.models import MatchIndexRow
from caldicott.matching.service import check_request, rebuild_index, trace_request
from caldicott.migrations import upgrade
from caldicott.register.models import PatientRow
from caldicott.register.repository import iter_records
from caldicott.settings import Settings

from .factories import fill_register, register_people, special_people

SPECIAL = special_people()


def _rows(session: Session) -> list[tuple[Any, ...]]:
    table = MatchIndexRow.__table__
    columns = [c for c in table.c if c.name != "id"]
    return sorted(tuple(r) for r in session.execute(select(*columns)))


def test_lean_reader_gives_the_rows_whole_records_give(session: Session) -> None:
    people = register_people()
    assert any(p.previous_names for p in people) and any(len(p.addresses) > 1 for p in people)
    fill_register(session, people)
    from_records = [p for r in iter_records(session) for p in repository.index_people(r)]
    lean = list(repository.register_people(session))
    assert lean == from_records
    assert len(lean) > len(people)


def test_a_bulk_rebuild_gives_the_same_index_with_its_indexes_and_key(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    fill_register(session, register_people())
    small = _rows(session)
    monkeypatch.setattr(repository, "BULK_REBUILD_ROWS", 1)
    assert rebuild_index(session) == len(small)
    assert _rows(session) == small
    indexes = {i["name"] for i in inspect(session.connection()).get_indexes("match_index")}
    assert {i.name for i in MatchIndexRow.__table__.indexes} <= indexes
    result = trace_request(session, check_request("Zanthe", "Quillfeather", "1984-03-12"))
    assert result.nhs_number == SPECIAL["zanthe"].nhs_number
    # the foreign key is back: removing a patient removes their index rows
    session.execute(delete(PatientRow).where(PatientRow.nhs_number == result.nhs_number))
    assert not session.scalars(select(MatchIndexRow.id).where(
        MatchIndexRow.nhs_number == result.nhs_number)).all()


def test_term_frequencies_share_out_the_non_null_values(session: Session) -> None:
    fill_register(session, register_people())
    people = list(repository.register_people(session))
    tf = term_frequencies(people)
    for column in ("given_name", "family_name", "postcode"):
        values = [getattr(p, column) for p in people if getattr(p, column) is not None]
        assert tf[column] == {v: values.count(v) / len(values) for v in set(values)}


def test_a_bulk_rebuild_that_rolls_back_leaves_the_indexes(
        fresh_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repository, "BULK_REBUILD_ROWS", 1)
    engine = make_engine(fresh_settings)
    upgrade(fresh_settings, engine)
    with unit_of_work(engine) as session:
        fill_register(session, register_people(50))
    # A rebuild in a transaction of its own (no change before it) that fails
    with pytest.raises(RuntimeError), unit_of_work(engine) as session:
        rebuild_index(session)
        raise RuntimeError("a failure after the rebuild, before the commit")
    with engine.connect() as connection:
        indexes = {i["name"] for i in inspect(connection).get_indexes("match_index")}
        assert connection.scalar(select(func.count()).select_from(MatchIndexRow)) > 50
    engine.dispose()
    assert {i.name for i in MatchIndexRow.__table__.indexes} <= indexes


def test_the_batch_register_in_duckdb_holds_what_real_time_tracing_reads(
        session: Session) -> None:
    from caldicott.matching.batch import KEYS_COLUMN, BatchLinker, _columns
    from caldicott.matching.core.normalise import BLOCKING_KEYS
    from caldicott.matching.service import scorer_for

    people = register_people()
    fill_register(session, people)
    _, scorer = scorer_for(session)
    linker = BatchLinker(session, scorer.settings, _columns())
    try:
        columns = _columns()
        duck = {r[0]: dict(zip(columns, r, strict=True)) for r in linker.connection.execute(
            f"SELECT {', '.join(columns)} FROM register").fetchall()}
    finally:
        linker.close()
    rows = list(repository.all_index_rows(session))
    assert len(duck) == len(rows) > len(people)
    for person in rows:
        got = duck[person.record_id]
        expected = person.as_row()
        for column in columns[1:-1]:
            want = expected[column]
            assert got[column] == (list(want) if isinstance(want, tuple) else want), column
        assert got[KEYS_COLUMN] == [f"{k}={expected[k]}" for k in BLOCKING_KEYS
                                    if expected[k] is not None]
