"""Appends land densely, commit with the caller's transaction, and prove their inclusion."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from caldicott.db import unit_of_work
from caldicott.errors import Unprocessable
from caldicott.ledger import service
from caldicott.ledger.core.checkpoint import open_checkpoint
from caldicott.ledger.core.merkle import verify_consistency, verify_inclusion
from caldicott.ledger.keys import load_or_create_key
from caldicott.ledger.models import LedgerEntry
from caldicott.ledger.service import LedgerReceipt
from caldicott.ledger.verify import verify
from caldicott.settings import Settings
from tests.integration.ledger.conftest import make_event


def _index_of(session: Session, receipt: LedgerReceipt) -> int:
    """The receipt's index: known at once on SQLite, found by leaf hash once integrated."""
    if receipt.index is not None:
        return receipt.index
    return int(session.scalar(select(LedgerEntry.index)
                              .where(LedgerEntry.leaf_hash == receipt.leaf_hash)))


def test_appends_get_dense_indexes_and_every_proof_verifies(session: Session,
                                                            settings: Settings) -> None:
    start, _ = service.tree_head(session)
    receipts = [service.append(session, settings, make_event(n)) for n in range(9)]
    receipts += service.append_many(session, settings, [make_event(n) for n in range(9, 30)])
    if session.bind.dialect.name == "postgresql":  # queued: integrated in the session here
        assert {r.index for r in receipts} == {None}
        service.checkpoint(session, settings)
    assert [_index_of(session, r) for r in receipts] == list(range(start, start + 30))
    size, root = service.tree_head(session)
    for receipt in receipts:
        index = _index_of(session, receipt)
        proof = service.inclusion_proof(session, index, size)
        verify_inclusion(index, size, receipt.leaf_hash, proof.proof, root)
    for first in range(1, size + 1, 3):
        c = service.consistency_proof(session, first)
        verify_consistency(first, size, c.first_root, root, c.proof)


def test_a_checkpoint_signs_the_current_head_with_the_data_folder_key(
        session: Session, settings: Settings) -> None:
    service.append(session, settings, make_event(1))
    signed = service.checkpoint(session, settings)
    opened = open_checkpoint(signed.note, load_or_create_key(settings.data_dir).public_key())
    assert (opened.size, opened.root) == service.tree_head(session)
    assert service.checkpoint(session, settings).note == signed.note  # one per size
    assert verify(session, settings).ok


def test_entry_rolls_back_with_the_callers_transaction(fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    with unit_of_work(engine) as session:
        service.append(session, settings, make_event(1))
    with pytest.raises(RuntimeError), unit_of_work(engine) as session:
        service.append(session, settings, make_event(2))
        raise RuntimeError("the disclosure failed after its entry was written")
    service.integrate(engine, settings)  # PostgreSQL: whatever is queued, into the tree now
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
        assert service.tree_head(session)[0] == 1
        third = service.append(session, settings, make_event(3))
    service.integrate(engine, settings)
    with unit_of_work(engine) as session:
        assert _index_of(session, third) == 1
        assert verify(session, settings).ok


def test_refuses_proofs_outside_the_tree(session: Session, settings: Settings) -> None:
    service.append(session, settings, make_event(1))
    size, _ = service.tree_head(session)
    with pytest.raises(Unprocessable):
        service.inclusion_proof(session, size)
    with pytest.raises(Unprocessable):
        service.inclusion_proof(session, 0, size + 1)
    with pytest.raises(Unprocessable):
        service.consistency_proof(session, 0)
    with pytest.raises(Unprocessable):
        service.entries(session, 5, 5000)
