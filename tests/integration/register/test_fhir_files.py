"""The register in and out as FHIR: NDJSON export → import is exact; Bundles import."""

from __future__ import annotations

import datetime as dt
import json
from itertools import islice
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.orm import Session

from caldicott.register import repository
from caldicott.register.fhir import record_to_fhir
from caldicott.register.models import PatientRow
from caldicott.register.service import import_observations, write_export
from caldicott.register.sources import fhir_observations
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
