"""The matcher's commands as a user runs them (subprocesses, a SQLite file)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from caldicott.register.csv_io import write_register_csv
from caldicott.synth.queries import generate_queries

from .factories import register_people, special_people


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "caldicott", *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path, str]:
    """A register imported and a model trained once (so each test stands alone,
    whichever worker runs it); the third item is what ``model train`` printed."""
    folder = tmp_path_factory.mktemp("matching_cli")
    env = {**os.environ, "CALDICOTT_DATABASE_URL": f"sqlite:///{folder / 'c.db'}"}
    people = register_people(400, seed=79)
    write_register_csv(people, folder / "people.csv")
    rows = [q.as_row() for q in generate_queries(people, 150, seed=3)]
    with (folder / "queries.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert _run(env, "register", "import", str(folder / "people.csv")).returncode == 0
    trained = _run(env, "model", "train", "--lookups", str(folder / "queries.csv"))
    assert trained.returncode == 0, trained.stderr
    return env, folder, trained.stdout


def test_train_prints_parameters_and_stores_a_versioned_model(world: tuple) -> None:
    env, _, printed = world
    assert "model version 1 sha256 " in printed
    assert "birth_date   day and month transposed" in printed
    shown = _run(env, "model", "show")
    assert "model version 1" in shown.stdout


def test_trace_one_prints_the_outcome_and_the_weights(world: tuple) -> None:
    env, *_ = world
    zanthe = special_people()["zanthe"]
    result = _run(env, "trace", "one", "--given", "Zanthe", "--family", "Quillfeather",
                  "--birth-date", "1984-03-12", "--postcode", "LS1 4AP")
    assert result.returncode == 0, result.stderr
    assert "outcome: traced" in result.stdout
    assert f"nhs_number: {zanthe.nhs_number}" in result.stdout
    assert "birth_date   exact" in result.stdout


def test_trace_one_refuses_a_date_in_the_future_in_one_line(world: tuple) -> None:
    env, *_ = world
    result = _run(env, "trace", "one", "--family", "Lee", "--birth-date", "2999-01-01")
    assert result.returncode == 2
    assert result.stderr.strip() == "caldicott: date of birth 2999-01-01 is in the future"


def test_trace_batch_writes_the_results_file(world: tuple) -> None:
    env, folder, _ = world
    out = folder / "results.csv"
    result = _run(env, "trace", "batch", str(folder / "queries.csv"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 150 and {r["outcome"] for r in rows} <= {
        "traced", "no_trace", "too_many_matches", "invalid"}


def test_trace_one_traces_without_a_date_of_birth_and_says_how_the_bar_rose(
        world: tuple) -> None:
    env, *_ = world
    result = _run(env, "trace", "one", "--given", "Zanthe", "--family", "Quillfeather",
                  "--postcode", "LS1 4AP", "--sex", "female")
    assert result.returncode == 0, result.stderr
    assert "birth_date   null" in result.stdout
    assert ("release bar: no date of birth given: threshold raised from 0.99 to 0.999 and "
            "margin from 6 to 10 bits") in result.stdout


def test_trace_one_refuses_nothing_but_a_name_in_one_line_naming_the_missing_fields(
        world: tuple) -> None:
    env, *_ = world
    result = _run(env, "trace", "one", "--given", "Zanthe", "--family", "Quillfeather")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "caldicott: the request cannot be traced: only a name: besides a name, a date of birth "
        "or a postcode is needed (missing: date of birth, postcode, sex)")
