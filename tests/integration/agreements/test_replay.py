"""Stored decisions, replayed under another version: which would flip, and how many."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from caldicott.agreements.core import (
    DebtReferralRequest,
    Outcome,
    TraceRequest,
    load_packs,
)
from caldicott.agreements.models import AgreementDecisionRow
from caldicott.agreements.service import decide_and_record, replay
from caldicott.errors import NotFound

PACKS = load_packs()
MOU = PACKS.agreements["tracing-mou"]
FIELDS = frozenset({"name", "date_of_birth", "address"})
OVERSTAYER = TraceRequest("home-office", FIELDS, category="overstayer", alternatives_exhausted=True)
OFFENDER = TraceRequest(
    "home-office",
    FIELDS,
    category="foreign_national_offender",
    deportation_considered=True,
    custodial_sentence_months=18,
    alternatives_exhausted=True,
)


def _history(session: Session) -> None:
    for request, day in [
        (OVERSTAYER, "2017-06-01"),
        (OFFENDER, "2017-06-01"),
        (OVERSTAYER, "2018-06-01"),
        (OFFENDER, "2018-12-01"),
    ]:
        decide_and_record(session, request, dt.date.fromisoformat(day), MOU)


def test_a_decision_is_stored_with_its_version_hash_and_facts(session: Session) -> None:
    decision = decide_and_record(session, OVERSTAYER, dt.date(2018, 6, 1), MOU)
    row = session.scalars(
        select(AgreementDecisionRow).order_by(AgreementDecisionRow.id.desc())
    ).first()
    assert row is not None
    assert (row.agreement, row.version, row.outcome) == ("tracing-mou", "2", "deny")
    assert row.content_hash == decision.content_hash
    assert row.request_facts["category"] == "overstayer"
    assert "name" not in row.request_facts  # facts for policy, no personal identifiers
    assert [clause for clause, _ in row.unmet] == ["2.1", "2.2"]


def test_replay_under_the_amendment_reports_the_flips(session: Session) -> None:
    _history(session)
    report = replay(session, "tracing-mou", "2", packs=PACKS)
    assert report.replayed == 4
    assert report.flipped == 2
    assert dict(report.changes) == {"permit -> deny": 1, "deny -> permit": 1}
    flipped = {(f.as_of.isoformat(), f.was_version, f.was, f.now) for f in report.flips}
    assert flipped == {
        ("2017-06-01", "1", "permit", "deny"),
        ("2018-12-01", "3-withdrawn", "deny", "permit"),
    }


def test_replay_under_the_firewall_denies_every_past_permit(session: Session) -> None:
    _history(session)
    request = DebtReferralRequest(
        "trust-rj1",
        frozenset({"name"}),
        debt_pence=60000,
        treatment_date=dt.date(2017, 3, 1),
        invoice_date=dt.date(2017, 3, 1),
    )
    debt = decide_and_record(
        session, request, dt.date(2017, 6, 1), PACKS.agreements["debt-referral"]
    )
    assert debt.outcome is Outcome.PERMIT
    report = replay(session, "firewall", "1", decisions_of=None, packs=PACKS)
    assert report.replayed == 5
    assert dict(report.changes) == {"permit -> deny": 3}


def test_replay_of_an_unknown_version_names_the_known_ones(session: Session) -> None:
    with pytest.raises(NotFound, match=r"versions: 1, 2, 3-withdrawn"):
        replay(session, "tracing-mou", "9", packs=PACKS)
