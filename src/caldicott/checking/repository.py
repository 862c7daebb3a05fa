"""Every query on memoranda, status checks and officer encounters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from caldicott.checking.models import (
    EncounterPatientRow,
    MemorandumRow,
    StatusCheckRow,
)
from caldicott.orgs.models import OrganisationRow


def begin_write(session: Session) -> None:
    """Take SQLite's write lock first (a deferred transaction that reads, then writes
    after another writer, fails at once instead of waiting its turn)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(StatusCheckRow).where(StatusCheckRow.id == -1)
                        .values(state=StatusCheckRow.state)
                        .execution_options(synchronize_session=False))


def memorandum_of(session: Session, organisation_id: int) -> MemorandumRow | None:
    return session.scalars(select(MemorandumRow)
                           .where(MemorandumRow.organisation_id == organisation_id)).first()


def add(session: Session, row: Any) -> Any:
    session.add(row)
    session.flush()
    return row


def memoranda(session: Session) -> Sequence[Row[OrganisationRow, MemorandumRow]]:
    return session.execute(select(OrganisationRow, MemorandumRow)
                           .join(MemorandumRow, MemorandumRow.organisation_id == OrganisationRow.id)
                           .order_by(MemorandumRow.signed_on, OrganisationRow.code)).all()


def check_by_client_key(session: Session, organisation_id: int,
                        client_key: str) -> StatusCheckRow | None:
    return session.scalars(select(StatusCheckRow).where(
        StatusCheckRow.organisation_id == organisation_id,
        StatusCheckRow.client_key == client_key)).first()


def check(session: Session, check_id: int, *, lock: bool = False) -> StatusCheckRow | None:
    query = select(StatusCheckRow).where(StatusCheckRow.id == check_id)
    return session.scalars(query.with_for_update() if lock else query).first()


def checks_of(session: Session, organisation_id: int, limit: int,
              offset: int) -> tuple[int, Sequence[StatusCheckRow]]:
    where = StatusCheckRow.organisation_id == organisation_id
    total = session.scalar(select(func.count()).select_from(StatusCheckRow).where(where)) or 0
    rows = session.scalars(select(StatusCheckRow).where(where)
                           .order_by(StatusCheckRow.id.desc()).limit(limit).offset(offset)).all()
    return total, rows


def add_encounter_patients(session: Session, encounter_id: int,
                           nhs_numbers: Sequence[str]) -> None:
    session.add_all(EncounterPatientRow(encounter_id=encounter_id, nhs_number=n)
                    for n in nhs_numbers)
    session.flush()
