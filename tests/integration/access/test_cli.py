"""``caldicott org|user|token`` as a person runs them: a real process, a real database."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from caldicott.settings import Settings

from .factories import recent_ledger_events, unique_code

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture()
def run(settings: Settings, engine: Engine) -> Run:
    env = {**os.environ, "CALDICOTT_DATABASE_URL": settings.resolved_database_url,
           "CALDICOTT_DATA_DIR": str(settings.data_dir)}

    def caldicott(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "caldicott", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    return caldicott


def _assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("caldicott: ")
    assert expected in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def _email() -> str:
    return f"user.{uuid.uuid4().hex[:10]}@example.org"


def test_org_add_then_list(run: Run) -> None:
    code = unique_code()
    added = run("org", "add", code.lower(), "--name", "Synthetic NHS Trust", "--kind", "nhs_trust")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"organisation {code} added: Synthetic NHS Trust (nhs_trust)"
    listed = run("org", "list")
    assert any(line.split()[:2] == [code, "nhs_trust"] for line in listed.stdout.splitlines())


def test_org_add_errors_are_one_line(run: Run) -> None:
    _assert_one_line_error(run("org", "add", unique_code(), "--name", "x", "--kind", "charity"),
                           "unknown organisation kind 'charity'")


def test_user_add_then_list(run: Run) -> None:
    code, email = unique_code(), _email()
    run("org", "add", code, "--name", "Synthetic Digital", "--kind", "nhs_digital")
    added = run("user", "add", email, "--org", code, "--role", "tracer", "--role", "reviewer",
                "--name", "Ada Synthetic")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"user {email} added to {code} as reviewer, tracer"
    row = [line for line in run("user", "list").stdout.splitlines() if email in line]
    assert row and row[0].split()[2:4] == [code, "reviewer,tracer"]


@pytest.mark.parametrize(("args", "expected"), [
    (["--org", "NOSUCHORG", "--role", "tracer"], "unknown organisation 'NOSUCHORG'"),
    (["--org", "X26", "--role", "boss"], "unknown role 'boss'"),
    (["--org", "X26", "--role", "patient"], "'patient' is not an account role"),
], ids=["unknown-org", "unknown-role", "patient-role"])
def test_user_add_errors_are_one_line(run: Run, args: list[str], expected: str) -> None:
    _assert_one_line_error(run("user", "add", _email(), *args), expected)


def test_token_create_prints_the_token_once_and_stores_its_hash(
    run: Run, engine: Engine
) -> None:
    code, email = unique_code(), _email()
    run("org", "add", code, "--name", "Synthetic Home Office", "--kind", "home_office")
    run("user", "add", email, "--org", code, "--role", "requesting_officer")
    created = run("token", "create", "--user", email, "--days", "7")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("cald_") and "\n" not in token
    assert "shown only now" in created.stderr
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT * FROM api_token")).all()
    mine = [row for row in stored if row.token_hash == hashlib.sha256(token.encode()).hexdigest()]
    assert len(mine) == 1 and mine[0].display_prefix == token[:11]
    assert not [row for row in stored if any(token in str(value) for value in row)]
    listed = run("token", "list", "--user", email)
    assert token not in listed.stdout
    assert f"{token[:11]}..." in listed.stdout and "active" in listed.stdout


def test_token_revoke_then_list_shows_it_revoked(run: Run) -> None:
    code, email = unique_code(), _email()
    run("org", "add", code, "--name", "Synthetic Council", "--kind", "local_authority")
    run("user", "add", email, "--org", code, "--role", "auditor")
    run("token", "create", "--user", email)
    token_id = run("token", "list", "--user", email).stdout.splitlines()[1].split()[0]
    revoked = run("token", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.startswith(f"token {token_id} (cald_")
    assert "revoked" in run("token", "list", "--user", email).stdout.splitlines()[1]


@pytest.mark.parametrize(("args", "expected"), [
    (["token", "create", "--user", "ghost@example.org"], "unknown user 'ghost@example.org'"),
    (["token", "revoke", "999999"], "no API token 999999"),
    (["token", "list", "--user", "ghost@example.org"], "unknown user 'ghost@example.org'"),
], ids=["create-unknown-user", "revoke-unknown-token", "list-unknown-user"])
def test_token_errors_are_one_line(run: Run, args: list[str], expected: str) -> None:
    _assert_one_line_error(run(*args), expected)


def test_unmigrated_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "CALDICOTT_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = subprocess.run([sys.executable, "-m", "caldicott", "user", "list"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    _assert_one_line_error(result, "run `caldicott db upgrade`")


# --- accounts (issue 18 item 10) --------------------------------------------------------


def _user(run: Run, *roles: str) -> str:
    code, email = unique_code(), _email()
    run("org", "add", code, "--name", "Synthetic Digital", "--kind", "nhs_digital")
    args = [part for role in roles for part in ("--role", role)]
    assert run("user", "add", email, "--org", code, *args).returncode == 0
    return email


def _user_id(run: Run, email: str) -> int:
    return int(next(line for line in run("user", "list").stdout.splitlines()
                    if email in line).split()[0])


def _ledger_types(engine: Engine, settings: Settings, user_id: int) -> list[str]:
    return [e["type"] for e in recent_ledger_events(engine, settings)
            if e["entity"]["what"] == f"user/{user_id}"]


def test_user_disable_then_enable_and_token_list_tells_why_a_token_fails(
    run: Run, engine: Engine, settings: Settings
) -> None:
    email = _user(run, "tracer")
    run("token", "create", "--user", email)
    disabled = run("user", "disable", email)
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout.strip() == f"user {email} disabled: their tokens stop working now"
    assert "(disabled)" in next(line for line in run("user", "list").stdout.splitlines()
                                if email in line)
    assert "disabled" in run("token", "list", "--user", email).stdout.splitlines()[1]
    assert run("user", "disable", email).stdout.strip() == f"user {email} was already disabled"
    assert run("user", "enable", email).returncode == 0
    assert "active" in run("token", "list", "--user", email).stdout.splitlines()[1]
    assert _ledger_types(engine, settings, _user_id(run, email)) == [
        "user-added", "token-created", "user-disabled", "user-enabled"]


def test_user_remove_role_keeps_the_others_and_refuses_the_last(
    run: Run, engine: Engine, settings: Settings
) -> None:
    email = _user(run, "tracer", "reviewer")
    removed = run("user", "remove-role", email, "--role", "reviewer")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == f"user {email} now holds tracer"
    _assert_one_line_error(run("user", "remove-role", email, "--role", "tracer"),
                           "only role; disable the account instead")
    _assert_one_line_error(run("user", "remove-role", email, "--role", "auditor"),
                           "does not hold the role auditor")
    assert _ledger_types(engine, settings, _user_id(run, email)) == ["user-added",
                                                                       "user-role-removed"]


def test_token_revoke_all_revokes_every_token_of_the_user(
    run: Run, engine: Engine, settings: Settings
) -> None:
    email = _user(run, "tracer")
    run("token", "create", "--user", email)
    run("token", "create", "--user", email)
    revoked = run("token", "revoke-all", "--user", email)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"2 token(s) of {email} revoked"
    rows = run("token", "list", "--user", email).stdout.splitlines()[1:]
    assert len(rows) == 2 and all("revoked" in row for row in rows)
    assert run("token", "revoke-all", "--user", email).stdout.strip() == (
        f"{email} had no token left to revoke")
    assert _ledger_types(engine, settings, _user_id(run, email)) == [
        "user-added", "token-created", "token-created", "user-tokens-revoked"]


def test_token_create_with_a_scope_and_list_shows_it(run: Run) -> None:
    email = _user(run, "tracer")
    created = run("token", "create", "--user", email, "--scope", "read")
    assert created.returncode == 0, created.stderr
    assert "(read)" in created.stderr
    assert " read " in run("token", "list", "--user", email).stdout.splitlines()[1]
    _assert_one_line_error(run("token", "create", "--user", email, "--scope", "admin"),
                           "unknown token scope 'admin'")


def test_org_add_knows_the_real_requesters(run: Run) -> None:
    for kind in ("police", "nca", "court", "coroner", "ccrc", "regulator"):
        code = unique_code()
        added = run("org", "add", code, "--name", f"Synthetic {kind}", "--kind", kind)
        assert added.returncode == 0, added.stderr
    help_text = run("org", "add", "--help").stdout
    assert "police" in help_text and "regulator" in help_text


def test_a_council_officer_may_no_longer_request(run: Run) -> None:
    code = unique_code()
    run("org", "add", code, "--name", "Synthetic Council", "--kind", "local_authority")
    _assert_one_line_error(run("user", "add", _email(), "--org", code, "--role",
                               "requesting_officer"),
                           "requesting_officer must belong to ccrc or coroner or court")
