"""Every query on organisations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from caldicott.orgs.models import OrganisationRow


def get_by_code(session: Session, code: str) -> OrganisationRow | None:
    return session.scalars(select(OrganisationRow).where(OrganisationRow.code == code)).first()


def get(session: Session, organisation_id: int) -> OrganisationRow | None:
    return session.get(OrganisationRow, organisation_id)


def list_all(session: Session) -> Sequence[OrganisationRow]:
    return session.scalars(select(OrganisationRow).order_by(OrganisationRow.code)).all()


def add(session: Session, code: str, name: str, kind: str) -> OrganisationRow:
    row = OrganisationRow(code=code, name=name, kind=kind)
    session.add(row)
    session.flush()
    return row
