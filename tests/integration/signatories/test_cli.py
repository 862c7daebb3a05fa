"""``caldicott signatory`` as an operator runs it: a real process, a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from caldicott.db import unit_of_work
from caldicott.settings import Settings
from tests.integration.access.factories import make_org

from .helpers import ledger_entries_about, number

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture()
def run(settings: Settings, engine: Engine) -> Run:
    env = {**os.environ, "CALDICOTT_DATABASE_URL": settings.resolved_database_url,
           "CALDICOTT_DATA_DIR": str(settings.data_dir),
           "CALDICOTT_SECRET_KEY": settings.secret_key}

    def caldicott(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "caldicott", "signatory", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    return caldicott


@pytest.fixture()
def org(engine: Engine) -> str:
    with unit_of_work(engine) as session:
        return make_org(session, "home_office").code


def _one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("caldicott: ") and expected in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_add_list_and_end_a_signatory(run: Run, org: str, engine: Engine) -> None:
    staff = number()
    added = run("add", "--org", org.lower(), "--name", "Synthetic Officer", "--rank",
                "chief immigration officer", "--number", staff, "--countersign",
                "--from", "2018-01-01")
    assert added.returncode == 0, added.stderr
    signatory_id = int(added.stdout.split()[1])
    assert added.stdout.strip() == (f"signatory {signatory_id} added to {org}: {staff} (HEO, "
                                    "may countersign), valid 2018-01-01 to open")
    listed = run("list", "--org", org)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert rows == [[org, staff, "HEO", "yes", "2018-01-01", "to", "open", "Synthetic",
                     "Officer"]]
    ended = run("end", "--org", org, "--number", staff, "--on", "2018-05-08")
    assert ended.returncode == 0, ended.stderr
    assert ended.stdout.strip() == f"signatory {staff} of {org} may sign until 2018-05-08"
    with unit_of_work(engine) as session:
        entries = ledger_entries_about(session, f"signatory/{signatory_id}")
    assert [e["type"] for e in entries] == ["signatory-added", "signatory-ended"]


def test_bad_input_is_one_plain_line(run: Run, org: str) -> None:
    _one_line_error(run("add", "--org", org, "--name", "X Y", "--rank", "sergeant", "--number",
                        number(), "--from", "2018-01-01"),
                    "unknown rank 'sergeant' for home_office; home_office ranks: AO < EO")
    _one_line_error(run("add", "--org", org, "--name", "X Y", "--rank", "EO", "--number",
                        number(), "--from", "1 Jan 2018"),
                    "--from '1 Jan 2018' is not a date (YYYY-MM-DD)")
    _one_line_error(run("end", "--org", org, "--number", "NOSUCH1", "--on", "2018-01-01"),
                    f"{org} has no signatory with staff number NOSUCH1")
    _one_line_error(run("list", "--org", "NOSUCHORG"), "unknown organisation 'NOSUCHORG'")
