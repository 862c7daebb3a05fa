"""The register in and out as FHIR: NDJSON export → import is exact; Bundles import."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from itertools import islice
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.orm import Session

from caldicott.register import repository
from caldicott.register.fhir import record_to_fhir
from caldicott.register.models import PatientRow
from caldicott.register.service import import_observations, write_export
from caldicott.register.sources import fhir_observations
from caldicott.settings import Settings
from caldicott.synth import generate_people


def test_ndjson_export_then_import_gives_an_identical_register(session: Session,
                                                               tmp_path: Path) -> None:
    people = list(generate_people(60, seed=7))
    repository.save_records(session, people, [], dt.datetime.now(dt.UTC))
    before = list(repository.iter_records(session))
    path = tmp_path / "register.ndjson"
    with path.open("w", encoding="utf-8") as out:
        assert write_export(session, "ndjson", out) == 60
    session.execute(delete(PatientRow))
    report = import_observations(session, fhir_observations(path))
    assert (report.created, report.rejects) == (60, [])
    assert list(repository.iter_records(session)) == before


def test_a_bundle_imports_its_patients_and_refuses_bad_entries_by_number(
        session: Session, tmp_path: Path) -> None:
    people = list(islice(generate_people(5, seed=3), 5))
    entries = [{"resource": record_to_fhir(p)} for p in people]
    entries.insert(2, {"resource": {"resourceType": "Observation", "status": "final"}})
    broken = record_to_fhir(people[0]) | {"birthDate": "1990-13-45"}
    entries.append({"resource": broken})
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": entries}))
    report = import_observations(session, fhir_observations(path))
    assert report.created == 5
    assert [number for number, _, _ in report.rejects] == [3, 7]


def test_the_import_command_reads_fhir_ndjson_and_names_bad_lines(
        fresh_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "people.ndjson"
    lines = [json.dumps(record_to_fhir(p)) for p in generate_people(4, seed=11)]
    lines.insert(1, json.dumps({"resourceType": "Patient", "birthDate": "2999-01-01"}))
    path.write_text("\n".join(lines) + "\n")
    rejects = tmp_path / "rejects.csv"
    result = subprocess.run(
        [sys.executable, "-m", "caldicott", "register", "import", str(path),
         "--rejects", str(rejects)],
        capture_output=True, text=True, check=False,
        env={**os.environ, "CALDICOTT_DATABASE_URL": fresh_settings.resolved_database_url})
    assert result.returncode == 0, result.stderr
    assert "imported 4 of 5 rows" in result.stdout
    assert rejects.read_text().splitlines()[1].startswith("2,")


def test_a_fhir_patient_with_no_given_name_imports_and_exports_as_it_came(
        session: Session, tmp_path: Path) -> None:
    person = next(generate_people(1, seed=21))
    resource = record_to_fhir(person)
    resource["name"] = [{"use": "usual", "family": "Thandiwekazi"}]
    path = tmp_path / "one-name.ndjson"
    path.write_text(json.dumps(resource) + "\n")
    report = import_observations(session, fhir_observations(path))
    assert (report.created, report.rejects) == (1, [])
    out = tmp_path / "export.ndjson"
    with out.open("w", encoding="utf-8") as handle:
        write_export(session, "ndjson", handle)
    exported = json.loads(out.read_text())
    assert exported["name"] == [{"use": "usual", "family": "Thandiwekazi"}]
    session.execute(delete(PatientRow))
    again = import_observations(session, fhir_observations(out))
    assert (again.created, again.rejects) == (1, [])
    record, = repository.iter_records(session)
    assert (record.given_name, record.family_name) == ("", "Thandiwekazi")
