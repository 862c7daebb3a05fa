"""``CALDICOTT_TEST_BACKENDS=sqlite`` runs without a PostgreSQL server: no test reaches for one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the probe is


def test_the_pool_tests_do_not_connect_to_postgresql_in_a_sqlite_only_run() -> None:
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/test"
    environment = os.environ | {"CALDICOTT_TEST_BACKENDS": "sqlite",
                                "CALDICOTT_TEST_POSTGRES_URL": nowhere}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/integration/test_db_pool.py", "-q",
         "-p", "no:cacheprovider", "-rs"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PostgreSQL is not among CALDICOTT_TEST_BACKENDS" in result.stdout
    assert " skipped" in result.stdout and "error" not in result.stdout.lower()
