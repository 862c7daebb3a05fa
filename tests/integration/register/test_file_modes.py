"""Files holding patient data are their owner's alone: the SQLite database and its
-wal and -shm 0600 in a 0700 data folder, exports and rejects 0600, whatever the umask."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from caldicott.db import make_engine
from caldicott.register.csv_io import record_to_rows, write_register_csv
from caldicott.settings import Settings
from tests.factories import make_patient, synthetic_nhs_numbers


def _mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)


@pytest.fixture()
def open_umask() -> Iterator[None]:
    saved = os.umask(0)
    try:
        yield
    finally:
        os.umask(saved)


def test_the_database_and_its_wal_and_shm_are_0600_in_a_0700_folder(
        tmp_path: Path, open_umask: None) -> None:
    data_dir = tmp_path / "var"
    engine = make_engine(Settings(data_dir=data_dir))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE patient_note (text VARCHAR)"))
            connection.execute(text("INSERT INTO patient_note VALUES ('synthetic')"))
        with engine.connect() as connection:  # WAL and SHM exist while a connection is open
            connection.execute(text("SELECT * FROM patient_note")).all()
            files = {p.name: _mode(p) for p in data_dir.iterdir()}
    finally:
        engine.dispose()
    assert _mode(data_dir) == "0o700"
    assert files == {"caldicott.db": "0o600", "caldicott.db-wal": "0o600",
                     "caldicott.db-shm": "0o600"}


def test_an_existing_database_open_to_others_is_made_private(tmp_path: Path) -> None:
    database = tmp_path / "shared.db"
    database.touch()
    database.chmod(0o644)
    make_engine(Settings(database_url=f"sqlite:///{database}", data_dir=tmp_path)).dispose()
    assert _mode(database) == "0o600"


def _caldicott(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALDICOTT_")}
    env["CALDICOTT_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run([sys.executable, "-m", "caldicott", *args], env=env, text=True,
                          capture_output=True, timeout=300, preexec_fn=lambda: os.umask(0))


def _register_with_a_bad_row(tmp_path: Path) -> Path:
    numbers = synthetic_nhs_numbers(10)
    people = [make_patient(next(numbers)) for _ in range(3)]  # and one bad row after them
    path = tmp_path / "people.csv"
    write_register_csv(people, path)
    bad = record_to_rows(make_patient(next(numbers)))[-1] | {"birth_date": "1990-02-30"}
    with path.open("a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, fieldnames=list(bad)).writerow(bad)
    return path


def test_rejects_and_exports_are_0600_whatever_the_umask(tmp_path: Path) -> None:
    people = _register_with_a_bad_row(tmp_path)
    imported = _caldicott(tmp_path, "register", "import", str(people))
    assert imported.returncode == 0, imported.stderr
    rejects = tmp_path / "people.csv.rejects.csv"
    assert len(rejects.read_text().splitlines()) == 2  # the header and the bad row
    assert _mode(rejects) == "0o600"
    assert _mode(tmp_path / "data") == "0o700"
    assert _mode(tmp_path / "data" / "caldicott.db") == "0o600"
    stale = tmp_path / "register.ndjson"
    stale.write_text("old export\n")
    stale.chmod(0o644)
    for out, fmt in ((tmp_path / "register.csv", "csv"), (stale, "ndjson")):
        exported = _caldicott(tmp_path, "register", "export", "--format", fmt, "--out", str(out))
        assert exported.returncode == 0, exported.stderr
        assert "exported 3 patients" in exported.stderr
        assert _mode(out) == "0o600", fmt
    assert "old export" not in stale.read_text()
