"""Synthetic organisations and accounts for access tests (generated names, example.org)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from caldicott.access.models import UserRow
from caldicott.access.service import add_user
from caldicott.db import unit_of_work
from caldicott.orgs.models import OrganisationRow
from caldicott.orgs.service import add_organisation
from caldicott.settings import Settings


def unique_code(prefix: str = "T") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def make_org(session: Session, kind: str = "nhs_digital") -> OrganisationRow:
    code = unique_code()
    return add_organisation(session, code, f"Test organisation {code}", kind)


def make_user(session: Session, *roles: str, org: OrganisationRow | None = None) -> UserRow:
    org = org or make_org(session)
    email = f"user.{uuid.uuid4().hex[:10]}@example.org"
    return add_user(session, email, org.code, list(roles), name="Synthetic User")


def recent_ledger_events(engine: Engine, settings: Settings, n: int = 200) -> list[dict[str, Any]]:
    """The last ``n`` ledger entries, as events, once everything queued is in the tree."""
    from caldicott.ledger import service as ledger

    ledger.integrate(engine, settings)
    with unit_of_work(engine) as session:
        size, _ = ledger.tree_head(session)
        if not size:
            return []
        rows = ledger.entries(session, max(0, size - n), size)
    return [json.loads(entry) for _, entry, _ in rows]
