"""``caldicott synth people`` and ``caldicott synth queries`` as a user runs them."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from caldicott.synth.files import read_people
from caldicott.synth.queries import QUERY_COLUMNS


def _caldicott(*args: str, hash_seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONHASHSEED": hash_seed}
    return subprocess.run([sys.executable, "-m", "caldicott", *args], capture_output=True,
                          text=True, timeout=120, check=False, env=env)


def test_people_then_queries(tmp_path: Path) -> None:
    people, queries = tmp_path / "people.csv", tmp_path / "queries.csv"
    made = _caldicott("synth", "people", "300", "--seed", "4", "--out", str(people))
    assert made.returncode == 0, made.stderr
    assert "wrote 300 people" in made.stdout
    asked = _caldicott("synth", "queries", "--people", str(people), "--n", "40", "--seed", "2",
                       "--out", str(queries))
    assert asked.returncode == 0, asked.stderr
    with queries.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 40 and tuple(rows[0]) == QUERY_COLUMNS
    assert len(list(read_people(people))) == 300


def test_people_as_fhir_ndjson(tmp_path: Path) -> None:
    out = tmp_path / "people.ndjson"
    made = _caldicott("synth", "people", "25", "--seed", "4", "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert len(out.read_text().splitlines()) == 25
    assert len(list(read_people(out))) == 25


def test_queries_from_a_file_that_is_not_a_register_is_one_line_and_exit_2(
        tmp_path: Path) -> None:
    junk = tmp_path / "photo.csv"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    asked = _caldicott("synth", "queries", "--people", str(junk), "--out",
                       str(tmp_path / "q.csv"))
    assert asked.returncode == 2
    assert len(asked.stderr.strip().splitlines()) == 1


def test_output_does_not_depend_on_the_process(tmp_path: Path) -> None:
    outputs = []
    for hash_seed in ("1", "2"):  # string hashing differs between these two processes
        people, queries = tmp_path / f"p{hash_seed}.csv", tmp_path / f"q{hash_seed}.csv"
        _caldicott("synth", "people", "400", "--seed", "8", "--out", str(people),
                   hash_seed=hash_seed)
        _caldicott("synth", "queries", "--people", str(people), "--n", "100", "--seed", "8",
                   "--out", str(queries), hash_seed=hash_seed)
        outputs.append((people.read_bytes(), queries.read_bytes()))
    assert outputs[0] == outputs[1]
