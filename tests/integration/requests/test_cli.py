"""``caldicott trace-request process|status`` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.integration.requests.conftest import Lifecycle


def _run(lifecycle: Lifecycle, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALDICOTT_DATABASE_URL": lifecycle.settings.resolved_database_url,
           "CALDICOTT_DATA_DIR": str(lifecycle.settings.data_dir),
           "CALDICOTT_SECRET_KEY": lifecycle.settings.secret_key}
    return subprocess.run([sys.executable, "-m", "caldicott", "trace-request", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_process_finishes_pending_work_and_status_counts_it(lifecycle: Lifecycle) -> None:
    processed = _run(lifecycle, "process", "--as-of", "2019-01-01")
    assert processed.returncode == 0, processed.stderr
    status = _run(lifecycle, "status")
    assert status.returncode == 0, status.stderr
    assert "received" not in status.stdout  # nothing left half done


def test_a_bad_date_is_one_plain_line(lifecycle: Lifecycle) -> None:
    result = _run(lifecycle, "process", "--as-of", "2019-02-30")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "not a date" in result.stderr
    assert "Traceback" not in result.stderr
