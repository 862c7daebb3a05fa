"""No personal identifier appears in any leaf (or detail) in the clear, nothing public links
two entries about one person, and only the private keyed index finds a person's entries."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from faker import Faker
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from caldicott.db import unit_of_work
from caldicott.ledger import service
from caldicott.ledger.core.events import (
    Agent,
    AuditEvent,
    IdentifierInTheClear,
    Pseudonym,
    pseudonymise,
)
from caldicott.ledger.keys import pseudonym_key
from caldicott.ledger.models import LedgerDetail, LedgerEntry, LedgerQueue
from caldicott.ledger.person import entries_about
from caldicott.settings import Settings
from tests.factories import synthetic_nhs_numbers
from tests.integration.ledger.conftest import run_cli

PEOPLE = 40


def _people() -> list[dict[str, str]]:
    fake = Faker("en_GB")
    fake.seed_instance(20261123)
    numbers = synthetic_nhs_numbers(500)
    return [{"nhs_number": next(numbers), "given": fake.first_name(), "family": fake.last_name(),
             "birth_date": fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
             "postcode": fake.postcode()} for _ in range(PEOPLE)]


def _event_about(settings: Settings, person: dict[str, str], number: int) -> AuditEvent:
    subjects = tuple(service.pseudonym_of(settings, kind, person[field]) for kind, field in (
        ("nhs_number", "nhs_number"), ("name", "family"), ("birth_date", "birth_date"),
        ("postcode", "postcode")))
    return AuditEvent(
        type="trace-request", action="E", outcome="refused" if number % 3 else "success",
        recorded=dt.datetime.now(dt.UTC), agent=Agent("user/3", "HO1", "requester"),
        what=f"trace-request/{number}", purpose="immigration-enforcement",
        agreement="HO-NHSD-MoU", agreement_version="3", subjects=subjects,
        details={"reason": "two candidates too close", "candidates": 2})


def _clear_forms(person: dict[str, str]) -> list[bytes]:
    nhs, postcode = person["nhs_number"], person["postcode"]
    born = dt.date.fromisoformat(person["birth_date"])
    forms = [nhs, f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}", person["given"], person["family"],
             born.isoformat(), born.strftime("%d/%m/%Y"), born.strftime("%Y%m%d"),
             postcode, postcode.replace(" ", "")]
    return list(itertools.chain.from_iterable((f.encode(), f.lower().encode(), f.upper().encode())
                                              for f in forms))


def test_no_nhs_number_name_birth_date_or_postcode_appears_in_any_leaf(
        session: Session, settings: Settings) -> None:
    people = _people()
    for number, person in enumerate(people):
        service.append(session, settings, _event_about(settings, person, number))
    stored = [bytes(e) for e in session.scalars(select(LedgerQueue.entry))]  # PostgreSQL's queue
    service.checkpoint(session, settings)  # integrates the queue: every entry is now a leaf
    stored += [bytes(e) for e in session.scalars(select(LedgerEntry.entry))]
    stored += [bytes(b) for b in session.scalars(select(LedgerDetail.body))]
    assert len(stored) >= 2 * PEOPLE + (PEOPLE if session.bind.dialect.name == "postgresql" else 0)
    leaks = [form for person in people for form in _clear_forms(person)
             if len(form) >= 4 and any(form in blob for blob in stored)]
    assert leaks == []


@pytest.mark.parametrize("raw", ["9990001234", "999 000 1236", "LS6 2AB", "ls62ab"])
def test_refuses_an_identifier_in_free_text(raw: str) -> None:
    with pytest.raises(IdentifierInTheClear):
        AuditEvent(type="disclosure", action="R", outcome="success",
                   recorded=dt.datetime.now(dt.UTC), agent=Agent("user/1", "X26"),
                   what="trace-request/1", details={"note": f"patient {raw}"})


def test_refuses_a_raw_identifier_as_a_subject() -> None:
    with pytest.raises(IdentifierInTheClear):
        AuditEvent(type="disclosure", action="R", outcome="success",
                   recorded=dt.datetime.now(dt.UTC), agent=Agent("user/1", "X26"),
                   what="trace-request/1", subjects=("9990001234",))  # type: ignore[arg-type]


def test_a_pseudonym_cannot_hold_a_raw_value() -> None:
    with pytest.raises(IdentifierInTheClear):
        Pseudonym("nhs_number", "9990001234")


def _same_event_about(settings: Settings, nhs: str, details: bool = False) -> AuditEvent:
    """The same event every time (same moment, actor, request), about patient ``nhs``."""
    return AuditEvent(
        type="disclosure", action="R", outcome="success",
        recorded=dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC),
        agent=Agent("user/4", "X26", "reviewer"), what="trace-request/7",
        purpose="immigration-enforcement", agreement="tracing-mou", agreement_version="3",
        subjects=(service.subject_of(settings, nhs),),
        details={"fields": "address"} if details else {})


_HEX_RUN = re.compile(rb"[0-9a-f]{32,}")


def test_two_entries_about_the_same_patient_share_no_value_in_the_public_log(
        session: Session, settings: Settings) -> None:
    nhs = next(synthetic_nhs_numbers(700))
    before = service.tree_head(session)[0]
    service.append_many(session, settings, [_same_event_about(settings, nhs)] * 2)
    service.integrate_queue(session, settings)
    rows = [(bytes(e), bytes(h), bytes(s)) for e, h, s in session.execute(
        select(LedgerEntry.entry, LedgerEntry.leaf_hash, LedgerEntry.seal)
        .where(LedgerEntry.index >= before).order_by(LedgerEntry.index))]
    assert len(rows) == 2
    (first, first_leaf, first_seal), (second, second_leaf, second_seal) = rows
    # Every hash-like value of one entry (its subject's) is absent from the other.
    shared = set(_HEX_RUN.findall(first)) & set(_HEX_RUN.findall(second))
    assert _HEX_RUN.findall(first) and shared == set()
    assert first_leaf != second_leaf and first_seal != second_seal
    stable = service.subject_of(settings, nhs).digest.encode()
    assert stable not in first and stable not in second


def test_the_settings_secret_does_not_recover_a_number_from_the_log(
        session: Session, settings: Settings) -> None:
    nhs = next(synthetic_nhs_numbers(710))
    service.append(session, settings, _same_event_about(settings, nhs, details=True))
    service.integrate_queue(session, settings)
    stored = b"".join(bytes(e) for e in session.scalars(select(LedgerEntry.entry)))
    for key in (settings.secret_key, "change-me-in-production", pseudonym_key(settings.data_dir)):
        assert pseudonymise(key, "nhs_number", nhs).digest.encode() not in stored


def test_the_pseudonym_key_is_a_private_file_beside_the_signing_key(
        settings: Settings, tmp_path: Path) -> None:
    key = pseudonym_key(settings.data_dir)
    path = settings.data_dir / "keys" / "pseudonym-hmac"
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    other = Settings(environment="test", data_dir=settings.data_dir, secret_key="another-secret")
    assert service.subject_of(other, "9990000018") == service.subject_of(settings, "9990000018")
    elsewhere = Settings(environment="test", data_dir=tmp_path, secret_key=settings.secret_key)
    assert service.subject_of(elsewhere, "9990000018") != service.subject_of(settings,
                                                                             "9990000018")


def test_the_keyed_index_finds_a_patients_entries_even_while_queued(
        session: Session, settings: Settings) -> None:
    one, two = (next(synthetic_nhs_numbers(n)) for n in (720, 730))
    receipts = service.append_many(session, settings, [
        _same_event_about(settings, one), _same_event_about(settings, two),
        _same_event_about(settings, one, details=True)])
    if session.get_bind().dialect.name == "postgresql":
        assert all(r.index is None for r in receipts)  # queued: no index yet
    found = entries_about(session, settings, one)
    assert [e.details for e in found] == [{}, {"fields": "address"}]
    assert {e.channel for e in found} == {"trace"}
    assert len(entries_about(session, settings, two)) == 1
    assert entries_about(session, settings, next(synthetic_nhs_numbers(740))) == []


def _fill(settings: Settings, engine: Engine) -> None:
    with unit_of_work(engine) as session:
        service.append_many(session, settings, [
            _same_event_about(settings, next(synthetic_nhs_numbers(n))) for n in range(12)])
    service.integrate(engine, settings)


@pytest.mark.parametrize(("change", "column"), [
    ("UPDATE ledger_subject SET nonce = :v WHERE \"index\" = 7", "nonce"),
    ("UPDATE ledger_subject SET pseudonym = :v WHERE \"index\" = 7", "pseudonym"),
    ("DELETE FROM ledger_subject WHERE \"index\" = 7", "row deleted"),
    ("INSERT INTO ledger_subject (\"index\", position, kind, pseudonym, nonce) "
     "VALUES (7, 1, 'nhs_number', :v, :v)", "row added"),
])
def test_verify_fails_when_a_private_subject_row_or_nonce_is_edited(
        fresh: tuple[Settings, Engine], change: str, column: str) -> None:
    settings, engine = fresh
    _fill(settings, engine)
    assert run_cli(settings, "ledger", "verify").returncode == 0
    with engine.begin() as connection:
        value = bytes(16) if column == "nonce" else bytes.fromhex(
            service.subject_of(settings, next(synthetic_nhs_numbers(3))).digest)
        connection.execute(text(change), {"v": value})
    result = run_cli(settings, "ledger", "verify")
    assert result.returncode == 1, result.stdout
    assert "index 7: subjects do not match the commitments in the leaf" in result.stderr
    assert "first bad index: 7" in result.stderr


def test_processes_starting_at_once_share_one_pseudonym_key(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from caldicott.ledger.keys import "
            "pseudonym_key; print(pseudonym_key(Path(sys.argv[1])).hex())")
    starters = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                                 stdout=subprocess.PIPE, text=True) for _ in range(8)]
    keys = {starter.communicate(timeout=60)[0].strip() for starter in starters}
    assert keys == {(tmp_path / "keys" / "pseudonym-hmac").read_bytes().hex()}
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["pseudonym-hmac"]
