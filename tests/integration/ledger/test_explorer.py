"""The auditor's ledger explorer (issue 12): keyset pages filtered by type, day and
agreement; an entry's inclusion proof against the signed checkpoint; consistency
between a saved checkpoint and today's; the rules of ledger reads."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Role
from caldicott.errors import Forbidden, InvalidInput, NotFound
from caldicott.ledger import explorer, service
from caldicott.ledger.core.checkpoint import open_checkpoint
from caldicott.ledger.core.events import Agent, AuditEvent
from caldicott.ledger.core.merkle import verify_inclusion
from caldicott.ledger.keys import load_or_create_key
from caldicott.ledger.models import LedgerEntry
from caldicott.settings import Settings

AUDITOR = Principal(9001, "a@x26.example", "Auditor", 1, "X26", "nhs_digital",
                    frozenset({Role.AUDITOR}))
HOME_OFFICE_AUDITOR = Principal(9002, "a@ho.example", "HO Auditor", 2, "HO-IE", "home_office",
                                frozenset({Role.AUDITOR}))
OFFICER = Principal(9003, "o@ho.example", "Officer", 2, "HO-IE", "home_office",
                    frozenset({Role.REQUESTING_OFFICER}))
DAY = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
TYPES = ("trace-request-received", "disclosure", "decision")
AGREEMENTS = ("tracing-mou", "police-dpa-sch2", None)


def _event(n: int) -> AuditEvent:
    return AuditEvent(type=TYPES[n % 3], action="E", outcome="success",
                      recorded=DAY + dt.timedelta(days=n // 6, minutes=n),
                      agent=Agent("system/test", "X26"), what=f"trace-request/{n}",
                      agreement=AGREEMENTS[n % 2 * 2 if n % 5 else 1],
                      agreement_version="1" if n % 5 else "2")


def _fill(session: Session, settings: Settings, count: int = 30) -> tuple[int, list[AuditEvent]]:
    """Append ``count`` events after whatever the log holds; return the first new index."""
    service.integrate_queue(session, settings)
    start = service.tree_head(session)[0]
    events = [_event(n) for n in range(count)]
    service.append_many(session, settings, events)
    service.integrate_queue(session, settings)
    return start, events


def _all_pages(session: Session, settings: Settings, wanted: explorer.EntryFilter,
               start: int, limit: int = 7) -> list[explorer.ExplorerEntry]:
    shown, before = [], None
    while True:
        page = explorer.entries(session, settings, AUDITOR, wanted, before, limit)
        shown.extend(e for e in page.entries if e.index >= start)
        if page.next_before is None or page.next_before < start:
            return shown
        before = page.next_before


def _expected(start: int, events: list[AuditEvent], keep: object) -> list[int]:
    return sorted((start + n for n, e in enumerate(events) if keep(e)), reverse=True)  # type: ignore[operator]


def test_pages_are_newest_first_without_gaps_for_each_filter(
        session: Session, settings: Settings) -> None:
    start, events = _fill(session, settings)
    cases = [(explorer.EntryFilter(), lambda e: e.type in TYPES),
             (explorer.EntryFilter(type="disclosure"), lambda e: e.type == "disclosure"),
             (explorer.EntryFilter(agreement="tracing-mou"),
              lambda e: e.agreement == "tracing-mou"),
             (explorer.EntryFilter(recorded_from=dt.date(2026, 3, 2),
                                   recorded_to=dt.date(2026, 3, 3)),
              lambda e: dt.date(2026, 3, 2) <= e.recorded.date() <= dt.date(2026, 3, 3)),
             (explorer.EntryFilter(type="decision", agreement="police-dpa-sch2",
                                   recorded_from=dt.date(2026, 3, 2)),
              lambda e: e.type == "decision" and e.agreement == "police-dpa-sch2"
              and e.recorded.date() >= dt.date(2026, 3, 2))]
    for wanted, keep in cases:
        shown = _all_pages(session, settings, wanted, start)
        ours = [e for e in shown if e.entry.find('"system/test"') >= 0]
        assert [e.index for e in ours] == _expected(start, events, keep), wanted
        assert not any(e.tampered for e in ours)


def test_each_entry_shown_is_the_entry_the_leaf_hashes(session: Session,
                                                       settings: Settings) -> None:
    _fill(session, settings, 5)
    page = explorer.entries(session, settings, AUDITOR, explorer.EntryFilter(), None, 50)
    for entry in page.entries:
        assert hashlib.sha256(b"\x00" + entry.entry.encode()).digest() == entry.leaf_hash


def test_only_a_reader_of_every_organisations_ledger_may_page(session: Session,
                                                             settings: Settings) -> None:
    _fill(session, settings, 3)
    for principal in (HOME_OFFICE_AUDITOR, OFFICER):
        with pytest.raises(Forbidden):
            explorer.entries(session, settings, principal, explorer.EntryFilter())
        with pytest.raises(Forbidden):
            explorer.entry_proof(session, settings, principal, 0)


def test_every_page_read_is_itself_an_entry_naming_the_reader(session: Session,
                                                              settings: Settings) -> None:
    _fill(session, settings, 3)
    explorer.entries(session, settings, AUDITOR, explorer.EntryFilter(type="disclosure"))
    service.integrate_queue(session, settings)
    newest = explorer.entries(session, settings, AUDITOR, explorer.EntryFilter(), None, 1)
    assert '"what":"ledger/entries"' in newest.entries[0].entry
    assert f'"who":"user/{AUDITOR.user_id}"' in newest.entries[0].entry


def test_a_row_whose_filter_columns_were_edited_is_flagged(session: Session,
                                                           settings: Settings) -> None:
    start, _ = _fill(session, settings, 3)
    session.execute(update(LedgerEntry).where(LedgerEntry.index == start)
                    .values(type="disclosure"))
    shown = _all_pages(session, settings, explorer.EntryFilter(type="disclosure"), start)
    assert [e.index for e in shown if e.tampered] == [start]


def test_an_entrys_inclusion_proof_leads_to_the_signed_checkpoints_root(
        session: Session, settings: Settings) -> None:
    start, _ = _fill(session, settings, 12)
    proof = explorer.entry_proof(session, settings, AUDITOR, start + 5)
    key = load_or_create_key(settings.data_dir).public_key()
    signed = open_checkpoint(proof.checkpoint.note, key)
    assert signed.size == proof.checkpoint.tree_size >= start + 6
    verify_inclusion(start + 5, signed.size, proof.leaf_hash, proof.inclusion_path, signed.root)
    assert proof.verified_here
    browser = proof.for_browser()
    assert browser["leafIndex"] == start + 5 and browser["entry"] == proof.entry
    assert base64.b64decode(browser["leafHash"]) == proof.leaf_hash
    with pytest.raises(NotFound):
        explorer.entry_proof(session, settings, AUDITOR, 10**9)


def test_reading_does_not_sign_a_checkpoint_each_time(session: Session,
                                                      settings: Settings) -> None:
    start, _ = _fill(session, settings, 4)
    first = explorer.entry_proof(session, settings, AUDITOR, start)
    again = explorer.entry_proof(session, settings, AUDITOR, start + 1)
    assert again.checkpoint == first.checkpoint  # the log grew by the reads, but is covered


def test_today_extends_a_saved_checkpoint_and_a_forged_one_is_told(
        session: Session, settings: Settings) -> None:
    _fill(session, settings, 5)
    saved = service.checkpoint(session, settings)
    _fill(session, settings, 9)
    service.checkpoint(session, settings)
    good = explorer.consistency_with_note(session, settings, saved.note)
    assert good.consistent and good.problem is None
    assert good.checkpoint.tree_size > saved.tree_size
    forged = explorer.consistency(session, settings, saved.tree_size, bytes(32))
    assert not forged.consistent and "does not extend" in (forged.problem or "")
    longer = explorer.consistency(session, settings, good.checkpoint.tree_size + 5, bytes(32))
    assert not longer.consistent and "lost entries" in (longer.problem or "")
    tampered = saved.note.replace(f"\n{saved.tree_size}\n", f"\n{saved.tree_size + 1}\n")
    with pytest.raises(InvalidInput):
        explorer.consistency_with_note(session, settings, tampered)


def test_the_filters_offer_the_types_and_agreements_in_the_log(session: Session,
                                                              settings: Settings) -> None:
    _fill(session, settings, 10)
    types, agreements = explorer.filter_choices(session, AUDITOR)
    assert set(TYPES) <= set(types) and types == sorted(types)
    assert {"tracing-mou", "police-dpa-sch2"} <= set(agreements)


def test_a_bad_filter_is_an_invalid_input(session: Session, settings: Settings) -> None:
    with pytest.raises(InvalidInput):
        explorer.entries(session, settings, AUDITOR, explorer.EntryFilter(type="a b'c"))
    with pytest.raises(InvalidInput):
        explorer.entries(session, settings, AUDITOR, explorer.EntryFilter(
            recorded_from=dt.date(2026, 3, 5), recorded_to=dt.date(2026, 3, 1)))
