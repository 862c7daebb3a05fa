"""Every query on the register of authorised signatories."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from caldicott.orgs.models import OrganisationRow
from caldicott.signatories.models import SignatoryRow

_WITH_ORG = select(SignatoryRow).options(joinedload(SignatoryRow.organisation))


def get_by_number(session: Session, organisation_id: int, staff_number: str, *,
                  for_update: bool = False) -> SignatoryRow | None:
    """The entry with ``staff_number`` (already normalised) in one organisation's register;
    ``for_update`` locks its row until the transaction ends (PostgreSQL)."""
    query = _WITH_ORG.where(SignatoryRow.organisation_id == organisation_id,
                            SignatoryRow.staff_number == staff_number)
    if for_update:
        query = query.with_for_update(of=SignatoryRow)
    return session.scalars(query).first()


def list_signatories(session: Session, organisation_id: int | None = None,
                     ) -> Sequence[SignatoryRow]:
    """The register, by organisation code then staff number; one organisation's if given."""
    query = _WITH_ORG.join(SignatoryRow.organisation)
    if organisation_id is not None:
        query = query.where(SignatoryRow.organisation_id == organisation_id)
    return session.scalars(query.order_by(OrganisationRow.code, SignatoryRow.staff_number)).all()


def add(session: Session, row: SignatoryRow) -> SignatoryRow:
    session.add(row)
    session.flush()
    return row
