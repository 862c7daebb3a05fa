"""Rows changed behind caldicott's back make `caldicott ledger verify` fail and name the index."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from caldicott.db import unit_of_work
from caldicott.ledger import service
from caldicott.ledger.core.merkle import EMPTY_ROOT, leaf_hash
from caldicott.settings import Settings
from tests.integration.ledger.conftest import make_event, run_cli

SIZE = 20


def _fill(settings: Settings, engine: Engine, size: int = SIZE, details: bool = False,
          start: int = 0) -> None:
    for number in range(start, start + size):
        with unit_of_work(engine) as session:
            service.append(session, settings, make_event(number, details=details))
    service.integrate(engine, settings)  # PostgreSQL: every queued entry into the tree now


def _sql(engine: Engine, *statements: str, **params: object) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), params)


def _verify_fails_at(settings: Settings, index: int, *extra: str) -> str:
    result = run_cli(settings, "ledger", "verify", *extra)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"first bad index: {index}" in result.stderr, result.stderr
    return result.stderr


def test_untouched_ledger_verifies(fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    _fill(settings, engine, details=True)
    run_cli(settings, "ledger", "checkpoint")
    result = run_cli(settings, "ledger", "verify")
    assert result.returncode == 0, result.stderr
    assert f"ok: {SIZE} entries" in result.stdout and "1 signed checkpoints" in result.stdout


def test_editing_an_entry_names_its_index(fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    _fill(settings, engine)
    _sql(engine, "UPDATE ledger_entry SET entry = :e WHERE \"index\" = 7", e=b'{"edited":true}')
    assert "edited" in _verify_fails_at(settings, 7)


def test_editing_an_entry_and_its_leaf_hash_is_caught_by_the_seal(
        fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    _fill(settings, engine)
    forged = b'{"outcome":"refused"}'
    _sql(engine, "UPDATE ledger_entry SET entry = :e, leaf_hash = :h WHERE \"index\" = 12",
         e=forged, h=leaf_hash(forged))
    assert "seal" in _verify_fails_at(settings, 12)


def test_deleting_an_entry_names_its_index(fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    _fill(settings, engine)
    _sql(engine, "DELETE FROM ledger_entry WHERE \"index\" = 9")
    assert "index 9 is missing" in _verify_fails_at(settings, 9)


def test_deleting_the_last_entry_names_its_index(fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    _fill(settings, engine)
    _sql(engine, f"DELETE FROM ledger_entry WHERE \"index\" = {SIZE - 1}")
    _verify_fails_at(settings, SIZE - 1)


def test_swapping_two_entries_names_the_first(fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    _fill(settings, engine)
    _sql(engine,
         "UPDATE ledger_entry SET \"index\" = -1 WHERE \"index\" = 5",
         "UPDATE ledger_entry SET \"index\" = 5 WHERE \"index\" = 14",
         "UPDATE ledger_entry SET \"index\" = 14 WHERE \"index\" = -1")
    _verify_fails_at(settings, 5)


def _forged_entry() -> bytes:
    event = make_event(999, details=False)
    return event.entry(None, [opening.commitment() for opening in event.openings()])


def test_inserting_an_entry_names_its_index(fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    _fill(settings, engine)
    forged = _forged_entry()
    _sql(engine,
         "UPDATE ledger_entry SET \"index\" = \"index\" + 1000 WHERE \"index\" >= 10",
         "UPDATE ledger_entry SET \"index\" = \"index\" - 999 WHERE \"index\" >= 1000",
         "INSERT INTO ledger_entry (\"index\", entry, leaf_hash, seal) VALUES (10, :e, :h, :s)",
         e=forged, h=leaf_hash(forged), s=bytes(32))
    _verify_fails_at(settings, 10)


def test_appending_a_row_outside_caldicott_names_its_index(fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    _fill(settings, engine)
    forged = _forged_entry()
    _sql(engine, "INSERT INTO ledger_entry (\"index\", entry, leaf_hash, seal) "
                 f"VALUES ({SIZE}, :e, :h, :s)", e=forged, h=leaf_hash(forged), s=bytes(32))
    _verify_fails_at(settings, SIZE)


def test_editing_details_beside_the_log_names_the_index(fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    _fill(settings, engine, details=True)
    _sql(engine, "UPDATE ledger_detail SET body = :b WHERE \"index\" = 3", b=b'{"candidates":0}')
    assert "details do not match" in _verify_fails_at(settings, 3)


def test_damaging_a_stored_subtree_names_where_it_starts(fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    _fill(settings, engine)
    key = ((((1 + 1) << 2) - 1) << 6) | 2  # the subtree over leaves 4..7
    _sql(engine, "UPDATE ledger_node SET hash = :h WHERE key = :k", h=bytes(32), k=key)
    assert "leaves 4..7" in _verify_fails_at(settings, 4)


def test_a_history_rewritten_after_a_saved_checkpoint_is_caught(
        fresh: tuple[Settings, Engine], tmp_path: Path) -> None:
    settings, engine = fresh
    _fill(settings, engine)
    saved = tmp_path / "auditor.checkpoint"
    assert run_cli(settings, "ledger", "checkpoint", "--out", str(saved)).returncode == 0
    assert run_cli(settings, "ledger", "verify", "--checkpoint", str(saved)).returncode == 0
    # An insider with the database and the secret rebuilds the log with different history.
    _sql(engine, "DELETE FROM ledger_detail", "DELETE FROM ledger_subject",
         "DELETE FROM ledger_entry",
         "DELETE FROM ledger_node", "DELETE FROM ledger_checkpoint",
         "UPDATE ledger_head SET tree_size = 0, root = :r, frontier = :f",
         r=EMPTY_ROOT, f=b"")
    _fill(settings, engine, size=SIZE + 5, start=100)
    assert run_cli(settings, "ledger", "verify").returncode == 0  # self-consistent on its own
    result = run_cli(settings, "ledger", "verify", "--checkpoint", str(saved))
    assert result.returncode == 1
    assert f"not consistent with the saved checkpoint at size {SIZE}" in result.stderr


def test_a_log_shorter_than_a_saved_checkpoint_is_caught(
        fresh: tuple[Settings, Engine], tmp_path: Path) -> None:
    settings, engine = fresh
    _fill(settings, engine)
    saved = tmp_path / "auditor.checkpoint"
    run_cli(settings, "ledger", "checkpoint", "--out", str(saved))
    _sql(engine, f"DELETE FROM ledger_entry WHERE \"index\" >= {SIZE - 3}",
         "DELETE FROM ledger_checkpoint")
    _verify_fails_at(settings, SIZE - 3, "--checkpoint", str(saved))


def test_a_missing_key_is_reported_not_replaced(fresh: tuple[Settings, Engine]) -> None:
    settings, engine = fresh
    _fill(settings, engine, size=3)
    (settings.data_dir / "keys" / "ledger-ed25519").rename(settings.data_dir / "moved-away")
    result = run_cli(settings, "ledger", "verify")
    assert result.returncode == 1 and "key is missing" in result.stderr
    assert not (settings.data_dir / "keys" / "ledger-ed25519").exists()
