"""Synthetic registers of signatories for tests (made-up names and numbers)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from caldicott.ledger.models import LedgerEntry, LedgerQueue
from caldicott.orgs.models import ORGANISATION_KINDS, OrganisationRow
from caldicott.settings import Settings
from caldicott.signatories.models import SignatoryRow
from caldicott.signatories.service import CLI_OPERATOR, add_signatory
from tests.integration.access.factories import make_org

#: The police, NCA, court, coroner and CCRC kinds arrive with the organisation-kinds
#: change (issue 19 item 3, another branch); until then the database refuses them.
needs_police_kind = pytest.mark.skipif(
    "police" not in ORGANISATION_KINDS,
    reason="the 'police' organisation kind is not in this build yet (issue 19 item 3)")

DAY = dt.date(2018, 3, 1)


def number() -> str:
    return f"N{uuid.uuid4().hex[:8].upper()}"


def officer(session: Session, settings: Settings, org: OrganisationRow, rank: str, *,
            countersign: bool = False, valid_from: dt.date = dt.date(2017, 1, 1),
            valid_to: dt.date | None = None) -> SignatoryRow:
    return add_signatory(session, settings, CLI_OPERATOR, organisation_code=org.code,
                         full_name="Synthetic Officer", rank=rank, staff_number=number(),
                         valid_from=valid_from, valid_to=valid_to,
                         may_countersign=countersign)


def home_office(session: Session) -> OrganisationRow:
    return make_org(session, "home_office")


def ledger_entries_about(session: Session, what: str) -> list[dict[str, Any]]:
    """Every ledger entry (in the tree or still queued) about ``what``."""
    bodies = [*session.scalars(select(LedgerEntry.entry)),
              *session.scalars(select(LedgerQueue.entry))]
    return [entry for entry in map(json.loads, bodies) if entry["entity"]["what"] == what]
