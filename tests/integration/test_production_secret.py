"""Production refuses a short or placeholder secret: one plain line, for every command,
with no traceback and nothing of the database URL or the secret (real subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from caldicott.settings import PLACEHOLDER_SECRET

URL = "postgresql+psycopg://ledgeradmin:hunter2-db-password@db.internal.example:6543/patients"
COMMANDS = [("serve",), ("ledger", "verify"), ("ledger", "person", "9990000018"),
            ("db", "upgrade"), ("demo", "--no-serve"), ("token", "list"),
            ("agreement", "list"), ("trace-request", "status")]
WEAK = [PLACEHOLDER_SECRET, "short-secret", "x" * 31, f"{PLACEHOLDER_SECRET}-and-more-letters"]


def _caldicott(tmp_path: Path, secret: str, *args: str,
               url: str = URL) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"CALDICOTT_ENVIRONMENT": "production", "CALDICOTT_SECRET_KEY": secret,
                        "CALDICOTT_DATABASE_URL": url, "CALDICOTT_DATA_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "caldicott", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _refused_in_one_plain_line(result: subprocess.CompletedProcess[str], secret: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "CALDICOTT_SECRET_KEY must be set in production, at least 32 characters" in lines[0]
    for leak in ("Traceback", "hunter2", "ledgeradmin", "db.internal", "6543", "patients",
                 "postgresql", "input_value", secret):
        assert leak not in result.stderr, leak


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_refuses_the_placeholder_secret_in_production(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    _refused_in_one_plain_line(_caldicott(tmp_path, PLACEHOLDER_SECRET, *command),
                               PLACEHOLDER_SECRET)


@pytest.mark.parametrize("secret", WEAK[1:], ids=["short", "31-characters", "placeholder-in-it"])
def test_serve_refuses_a_short_or_placeholder_secret_in_production(
        tmp_path: Path, secret: str) -> None:
    _refused_in_one_plain_line(_caldicott(tmp_path, secret, "serve"), secret)


def test_a_strong_secret_passes_in_production(tmp_path: Path) -> None:
    result = _caldicott(tmp_path, "k" * 32, "ledger", "checkpoint",
                        url=f"sqlite:///{tmp_path / 'caldicott.db'}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("caldicott.ledger/")
