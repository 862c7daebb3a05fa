"""``caldicott agreement list|show|check|replay`` as a person runs them."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete

from caldicott.agreements.core import PACKS_DIR, TraceRequest, load_packs
from caldicott.agreements.models import AgreementDecisionRow
from caldicott.agreements.service import decide_and_record
from caldicott.db import unit_of_work
from caldicott.settings import Settings

Run = Callable[..., subprocess.CompletedProcess[str]]
GOOD = (PACKS_DIR / "tracing-mou.toml").read_text(encoding="utf-8")


@pytest.fixture()
def run(settings: Settings) -> Run:
    env = {
        **os.environ,
        "CALDICOTT_DATABASE_URL": settings.resolved_database_url,
        "CALDICOTT_DATA_DIR": str(settings.data_dir),
    }

    def caldicott(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "caldicott", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return caldicott


SHIPPED_VERSIONS = 18
NO_TEXT = (
    'text = """The person can no longer be located and the alternatives have been '
    'exhausted."""'
)


def _listed(stdout: str) -> dict[tuple[str, str], str]:
    """(agreement, version) -> status, from the fixed columns of ``agreement list``."""
    return {(line[:22].strip(), line[23:35].strip()): line[60:79].strip()
            for line in stdout.splitlines()[1:]}


def test_list_shows_every_version_with_its_hash(run: Run) -> None:
    result = run("agreement", "list")
    assert result.returncode == 0, result.stderr
    rows = [line.split()[:4] for line in result.stdout.splitlines()[1:]]
    assert ["tracing-mou", "2", "2018-05-09", "2018-05-25"] in rows
    assert ["debt-referral", "2", "2016-04-06", "-"] in rows
    assert len(rows) == SHIPPED_VERSIONS


def test_list_shows_each_versions_status_from_its_dates_and_flags(run: Run) -> None:
    result = run("agreement", "list")
    assert result.returncode == 0, result.stderr
    listed = _listed(result.stdout)
    assert listed[("tracing-mou", "1")] == "expired"
    assert listed[("tracing-mou", "2")] == "expired (suspended)"
    assert listed[("tracing-mou", "3-withdrawn")] == "withdrawn"
    assert listed[("debt-referral", "2")] == "in force"
    assert listed[("police-crime-exemption", "2")] == "in force"
    assert listed[("firewall", "1")] == "what-if"
    assert listed[("tracing-mou-narrowed", "2.1")] == "what-if"
    assert "active" not in listed.values()


def test_list_still_serves_the_valid_packs_beside_a_bad_draft(run: Run, tmp_path: Path) -> None:
    bad = GOOD.replace('id = "tracing-mou"', 'id = "draft"').replace(
        'requires = "context.alternatives_exhausted"', 'requires = "context.deportation &&"', 1
    )
    (tmp_path / "draft.toml").write_text(bad, encoding="utf-8")
    result = run("agreement", "list", "--packs-dir", str(tmp_path))
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 1 + SHIPPED_VERSIONS
    assert f"problem: {tmp_path / 'draft.toml'}:" in result.stderr
    assert "malformed Cedar in clause 2.2" in result.stderr


def test_check_names_file_and_line_of_each_problem(run: Run, tmp_path: Path) -> None:
    bad = GOOD.replace("effective_from = 2018-05-09", "effective_from = 2018-04-01").replace(
        NO_TEXT, 'text = ""', 1
    )
    draft = tmp_path / "draft.toml"
    draft.write_text(bad, encoding="utf-8")
    result = run("agreement", "check", str(draft))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"{draft}:") for line in lines)
    assert any(line.endswith("clause 2.3 has no text") for line in lines)
    assert any("overlaps version 1.1" in line for line in lines)


def test_check_passes_a_good_pack(run: Run) -> None:
    result = run("agreement", "check", str(PACKS_DIR / "debt-referral.toml"))
    assert result.returncode == 0
    assert result.stdout.strip().endswith("debt-referral.toml: ok")


def test_show_prints_clauses_in_their_own_words(run: Run) -> None:
    result = run("agreement", "show", "checking-service-mou", "--cedar")
    assert result.returncode == 0, result.stderr
    assert "charges: per minute 80p, per hour £58.20" in result.stdout
    assert "2.1  Only the patient's name, nationality and date of birth are sent." in result.stdout
    assert '@id("permit:main")' in result.stdout


def test_show_of_an_unknown_agreement_is_one_line(run: Run) -> None:
    result = run("agreement", "show", "no-such-mou")
    assert result.returncode == 2
    assert result.stderr.startswith("caldicott: no agreement 'no-such-mou'")
    assert "Traceback" not in result.stderr


@pytest.fixture()
def draft_history(engine: Engine, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Committed decisions under a uniquely named copy of the tracing MoU."""
    name = f"mou-{uuid.uuid4().hex[:8]}"
    (tmp_path / "draft.toml").write_text(
        GOOD.replace('id = "tracing-mou"', f'id = "{name}"'), encoding="utf-8"
    )
    mou = load_packs(tmp_path).agreements[name]
    overstayer = TraceRequest(
        "home-office", frozenset({"name"}), category="overstayer", alternatives_exhausted=True
    )
    with unit_of_work(engine) as session:
        for day in ("2017-03-01", "2017-06-01", "2018-06-01"):
            decide_and_record(session, overstayer, dt.date.fromisoformat(day), mou)
    yield name, tmp_path
    with unit_of_work(engine) as session:
        session.execute(delete(AgreementDecisionRow).where(AgreementDecisionRow.agreement == name))


def test_replay_reports_which_would_flip_and_how_many(
    run: Run, draft_history: tuple[str, Path]
) -> None:
    name, packs_dir = draft_history
    result = run(
        "agreement", "replay", "--agreement", name, "--version", "3-withdrawn",
        "--packs-dir", str(packs_dir),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"replayed 3 requests (3 decisions) under {name} version "
                               "3-withdrawn (")
    assert lines[0].endswith("): 3 would change")
    assert lines[1:3] == ["  permit -> deny: 2", "  queue -> deny: 1"]
    assert lines[3] == "releases: 0 made, 0 of them would not be allowed"
    assert lines[4] == "people: 0 had data released, 0 of them would have had none"
    assert sum("permit -> deny" in line and "decision " in line for line in lines) == 2


def test_replay_by_date_compares_the_two_readings_of_the_suspension(
    run: Run, draft_history: tuple[str, Path]
) -> None:
    name, packs_dir = draft_history
    result = run("agreement", "replay", "--agreement", "tracing-mou-narrowed",
                 "--decisions-of", name, "--packs-dir", str(packs_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "replayed 1 requests (3 decisions) under tracing-mou-narrowed the version in force "
        "on each request's date: 1 would change"
    )
    assert "  queue -> deny: 1" in lines
    assert "  2 requests dated where no version of tracing-mou-narrowed is in force were " \
           "left out" in lines


def test_decide_explains_a_deny_in_the_clauses_words(run: Run) -> None:
    facts = (
        '{"channel": "trace", "requester": "home-office", "requested_fields": ["name"], '
        '"category": "overstayer", "alternatives_exhausted": true}'
    )
    result = run(
        "agreement",
        "decide",
        "--agreement",
        "tracing-mou-narrowed",
        "--as-of",
        "2018-06-01",
        "--request",
        facts,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("DENY under tracing-mou-narrowed version 2.1 (")
    assert (
        "Unmet — clause 2.2: Only those individuals convicted of serious criminal offences, or "
        "who represent a risk to public security, who may be deported as a result."
    ) in result.stdout


def test_decide_with_bad_facts_is_one_line(run: Run) -> None:
    result = run(
        "agreement",
        "decide",
        "--agreement",
        "tracing-mou",
        "--as-of",
        "2018-06-01",
        "--request",
        '{"channel": "trace", "requester": "ho", "requested_fields": "x"}',
    )
    assert result.returncode == 2
    assert result.stderr == "caldicott: requested_fields must be a list of field names\n"


def test_list_includes_packs_in_the_data_dir(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "agreements").mkdir()
    (tmp_path / "agreements" / "local.toml").write_text(
        GOOD.replace('id = "tracing-mou"', 'id = "local-mou"'), encoding="utf-8"
    )
    env = {
        **os.environ,
        "CALDICOTT_DATABASE_URL": settings.resolved_database_url,
        "CALDICOTT_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "caldicott", "agreement", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sum(line.startswith("local-mou ") for line in result.stdout.splitlines()) == 5
    local = {k: v for k, v in _listed(result.stdout).items() if k[0] == "local-mou"}
    assert set(local.values()) == {"draft"}  # not in force until an administrator activates


def test_activate_puts_one_draft_version_in_force_and_says_so(tmp_path: Path) -> None:
    # Its own database and data folder: an activation writes to the ledger, sealed with the
    # data folder's key, and the shared test database's ledger is sealed with another.
    name = f"local-{uuid.uuid4().hex[:8]}"
    (tmp_path / "agreements").mkdir()
    (tmp_path / "agreements" / "local.toml").write_text(
        GOOD.replace('id = "tracing-mou"', f'id = "{name}"'), encoding="utf-8"
    )
    env = {
        **os.environ,
        "CALDICOTT_DATABASE_URL": f"sqlite:///{tmp_path / 'caldicott.db'}",
        "CALDICOTT_DATA_DIR": str(tmp_path),
    }

    def caldicott(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "caldicott", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    assert caldicott("db", "upgrade").returncode == 0
    # Letters only: a code shaped like a postcode is refused by the ledger.
    code = "A" + "".join(chr(65 + int(c, 16)) for c in uuid.uuid4().hex[:7])
    email = f"{code.lower()}@example.org"
    assert caldicott("org", "add", code, "--name", "Synthetic NHS Digital",
                     "--kind", "nhs_digital").returncode == 0
    assert caldicott("user", "add", email, "--org", code, "--role", "administrator"
                     ).returncode == 0
    result = caldicott("agreement", "activate", name, "--version", "1.1", "--by", email)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"activated: {name} version 1.1 (content ")
    again = caldicott("agreement", "activate", name, "--version", "1.1", "--by", email)
    assert again.stdout.startswith(f"already active: {name} version 1.1")
    listed = _listed(caldicott("agreement", "list").stdout)
    assert listed[(name, "1.1")] == "expired"
    assert listed[(name, "1")] == "draft"
    refused = caldicott("agreement", "activate", name, "--version", "1", "--by",
                        "nobody@example.org")
    assert refused.returncode != 0
    assert refused.stderr.startswith("caldicott: unknown user 'nobody@example.org'")
    assert "Traceback" not in refused.stderr
    verified = caldicott("ledger", "verify")  # the activation's entry is in the ledger, sound
    assert verified.returncode == 0, verified.stdout + verified.stderr
