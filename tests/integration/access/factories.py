"""Synthetic organisations and accounts for access tests (generated names, example.org)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from caldicott.access.models import UserRow
from caldicott.access.service import add_user
from caldicott.orgs.models import OrganisationRow
from caldicott.orgs.service import add_organisation


def unique_code(prefix: str = "T") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def make_org(session: Session, kind: str = "nhs_digital") -> OrganisationRow:
    code = unique_code()
    return add_organisation(session, code, f"Test organisation {code}", kind)


def make_user(session: Session, *roles: str, org: OrganisationRow | None = None) -> UserRow:
    org = org or make_org(session)
    email = f"user.{uuid.uuid4().hex[:10]}@example.org"
    return add_user(session, email, org.code, list(roles), name="Synthetic User")
