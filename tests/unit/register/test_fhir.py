"""The register as FHIR R4 Patient resources: mapping, round trip, streaming files."""

from __future__ import annotations

import datetime as dt
import io
import json
import tracemalloc
from pathlib import Path

import nhs_number
import pytest
from fhir.resources.R4B.patient import Patient
from hypothesis import given, settings
from hypothesis import strategies as st

from caldicott.errors import NotAFile
from caldicott.register.fhir import (
    CONFIDENTIALITY_SYSTEM,
    NHS_NUMBER_SYSTEM,
    PRIMARY_CARE_AREA_URL,
    REGISTRATION_DATE_URL,
    fhir_to_record,
    iter_fhir_patients,
    record_to_fhir,
    write_ndjson,
)
from caldicott.register.records import (
    SEXES,
    Address,
    GPPractice,
    PatientRecord,
    PreviousName,
    RecordError,
    check_record,
)
from tests.factories import make_patient, synthetic_nhs_numbers

NHS = next(synthetic_nhs_numbers(500))

# --- strategies for valid register records ----------------------------------

# FHIR strings hold something besides white space (U+00A0 alone is not a value).
_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=20
).filter(str.strip)
_optional_text = st.one_of(st.just(""), _text)
_word = st.text(st.characters(categories=["L"]), min_size=1, max_size=8)
# Names of any script with the joiners real names use (O'Neil, Jean-Luc, Mary Jane).
_names = st.builds(lambda first, rest: first + "".join(sep + w for sep, w in rest), _word,
                   st.lists(st.tuples(st.sampled_from([" ", "-", "'", "\u2019", ". "]), _word),
                            max_size=2))
_dates = st.dates(dt.date(1880, 1, 1), dt.date(2025, 12, 31))


@st.composite
def _nhs_numbers(draw: st.DrawFn) -> str:
    stem = f"999{draw(st.integers(0, 999_999)):06d}"
    check = nhs_number.calculate_checksum(stem)
    if check is None or check >= 10:
        stem, check = "999000001", 8
    return f"{stem}{check}"


@st.composite
def _postcodes(draw: st.DrawFn) -> str:
    area = draw(st.text("ABCDEFGHIJKLMNOPRSTUWYZ", min_size=1, max_size=2))
    district = draw(st.sampled_from(["1", "12", "1A", "9W"]))
    unit = draw(st.text("ABDEFGHJLNPQRSTUWXYZ", min_size=2, max_size=2))
    return f"{area}{district} {draw(st.integers(0, 9))}{unit}"


@st.composite
def _addresses(draw: st.DrawFn) -> Address:
    start = draw(st.none() | _dates)
    end = draw(st.none() | _dates)
    if start and end and end < start:
        start, end = end, start
    return Address(draw(_optional_text), draw(_optional_text), draw(_optional_text),
                   draw(_postcodes()), start, end)


@st.composite
def valid_records(draw: st.DrawFn) -> PatientRecord:
    birth = draw(_dates)
    death = draw(st.none() | st.dates(birth, dt.date(2025, 12, 31)))
    # An ODS practice code: no register path takes a blank one (CSV strips it away,
    # FHIR refuses an identifier of only spaces such as U+00A0).
    codes = st.from_regex(r"[A-Z][0-9]{5}", fullmatch=True)
    gp = draw(st.none() | st.builds(GPPractice, codes, _optional_text, _optional_text))
    record = PatientRecord(
        nhs_number=draw(_nhs_numbers()),
        # Some people have one name (no given name), as PDS holds them.
        given_name=draw(st.just("") | _names),
        family_name=draw(_names),
        birth_date=birth,
        sex=draw(st.sampled_from(SEXES)),
        death_date=death,
        addresses=tuple(draw(st.lists(_addresses(), max_size=3))),
        previous_names=tuple(draw(st.lists(st.builds(PreviousName, st.just("") | _names,
                                                     _names), max_size=2))),
        gp=gp,
        primary_care_area=draw(st.none() | _text),
        registered_on=draw(st.none() | _dates),
        restricted=draw(st.booleans()),
    )
    return check_record(record, today=dt.date(2026, 1, 1))


# --- mapping -----------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(valid_records())
def test_round_trip_gives_back_the_same_record(record: PatientRecord) -> None:
    resource = record_to_fhir(record)
    Patient.model_validate(resource)  # every resource we write is valid R4B
    assert fhir_to_record(json.loads(json.dumps(resource))) == record


def test_patient_carries_nhs_number_names_and_addresses_as_pds_does() -> None:
    resource = record_to_fhir(make_patient(NHS))
    assert resource["identifier"] == [{"system": NHS_NUMBER_SYSTEM, "value": NHS}]
    assert [n["use"] for n in resource["name"]] == ["usual", "old"]
    assert resource["name"][1]["family"] == "Testmaiden"
    assert resource["address"][0]["period"] == {"start": "2005-01-01", "end": "2016-05-31"}
    assert resource["address"][1]["use"] == "home"
    assert resource["address"][1]["line"] == ["4 Sample Road", "Flat 2"]


def test_a_person_with_one_name_is_a_valid_patient_with_a_family_name_only() -> None:
    record = check_record(make_patient(NHS, given_name="", family_name="Thandiwekazi"))
    resource = record_to_fhir(record)
    assert resource["name"][0] == {"use": "usual", "family": "Thandiwekazi"}
    Patient.model_validate(resource)
    assert fhir_to_record(resource) == record


def test_gp_practice_is_a_contained_organisation_with_its_ods_code() -> None:
    resource = record_to_fhir(make_patient(NHS))
    (org,) = resource["contained"]
    assert resource["generalPractitioner"][0]["reference"] == f"#{org['id']}"
    assert org["identifier"][0]["value"] == "B86001"
    assert org["name"] == "Sample Lane Surgery"


def test_primary_care_area_and_registration_date_are_extensions() -> None:
    extensions = {e["url"]: e for e in record_to_fhir(make_patient(NHS))["extension"]}
    assert extensions[PRIMARY_CARE_AREA_URL]["valueIdentifier"]["value"] == "Q12"
    assert extensions[REGISTRATION_DATE_URL]["valueDate"] == "2005-01-10"


def test_restricted_patient_is_security_labelled_r() -> None:
    security = record_to_fhir(make_patient(NHS, restricted=True))["meta"]["security"]
    assert security == [{"system": CONFIDENTIALITY_SYSTEM, "code": "R", "display": "restricted"}]


def test_reads_a_pds_style_patient_with_gp_reference_only_and_five_line_address() -> None:
    resource = {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": NHS}],
        "name": [{"use": "usual", "family": "Okafor", "given": ["Amara", "Grace"]}],
        "gender": "female",
        "birthDate": "1984-03-14",
        "deceasedDateTime": "2024-02-01T10:15:00+00:00",
        "address": [{"use": "home", "line": ["Flat 2", "4 Sample Road", "Headingley"],
                     "postalCode": "ls62ab", "period": {"start": "2016-06-01"}}],
        "generalPractitioner": [{"type": "Organization", "identifier": {
            "system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "B86001"}}],
    }
    record = fhir_to_record(resource)
    assert record.given_name == "Amara Grace"
    assert record.death_date == dt.date(2024, 2, 1)
    assert record.addresses[0].line2 == "4 Sample Road, Headingley"
    assert record.addresses[0].postcode == "LS6 2AB"
    assert record.gp == GPPractice("B86001", "")


# --- refusals ----------------------------------------------------------------


def _patient(**fields: object) -> dict[str, object]:
    return record_to_fhir(make_patient(NHS)) | fields


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        ({"resourceType": "Observation"}, "not a Patient resource"),
        ([1, 2], "not a FHIR resource"),
        (_patient(birthDate="1980-13-02"), "invalid FHIR Patient: birthDate"),
        (_patient(colour="blue"), "invalid FHIR Patient: colour"),
        (_patient(identifier=[{"system": NHS_NUMBER_SYSTEM, "value": "9990000019"}]),
         "fails the modulus-11 check"),
        (_patient(identifier=[]), "no NHS number identifier"),
        (_patient(birthDate="1980"), "not a full date"),
        (_patient(gender="bogus"), "gender 'bogus'"),
        (_patient(address=[{"postalCode": "NOT A CODE"}]), "not a UK postcode shape"),
        (_patient(name=[]), "no current name"),
        (_patient(meta={"security": [{"system": CONFIDENTIALITY_SYSTEM, "code": "REDACTED"}]}),
         "redacted"),
    ],
)
def test_refuses_invalid_resource_with_a_plain_reason(resource: object, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        fhir_to_record(resource)  # type: ignore[arg-type]


# --- files -------------------------------------------------------------------


def _bundle(resources: list[object]) -> dict[str, object]:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": r} for i, r in enumerate(resources)]}


def test_bundle_entries_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    good = record_to_fhir(make_patient(NHS))
    path.write_text(json.dumps(_bundle([good, {"resourceType": "Observation"}, good])))
    items = list(iter_fhir_patients(path))
    assert [n for n, _ in items] == [1, 2, 3]
    assert fhir_to_record(items[2][1]) == make_patient(NHS)  # type: ignore[arg-type]


def test_bundle_entry_without_resource_is_an_error_item(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]}))
    ((number, error),) = list(iter_fhir_patients(path))
    assert number == 1 and isinstance(error, RecordError)


def test_a_lone_patient_json_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(record_to_fhir(make_patient(NHS))))
    assert [n for n, _ in iter_fhir_patients(path)] == [1]


def test_ndjson_numbers_lines_and_reports_a_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "people.ndjson"
    line = json.dumps(record_to_fhir(make_patient(NHS)))
    path.write_text(f"{line}\n\n{{broken\n{line}\n")
    items = list(iter_fhir_patients(path))
    assert [n for n, _ in items] == [1, 3, 4]
    assert isinstance(items[1][1], RecordError) and "line 3 is not JSON" in str(items[1][1])


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_binary_file_is_not_a_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"photo{suffix}"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(NotAFile, match="not"):
        list(iter_fhir_patients(path))


@pytest.mark.parametrize("content", ["nhs_number,given_name\n9990000018,Ann\n",
                                     '{"resourceType": "Observation"}', "[1, 2]"])
def test_json_that_is_not_a_bundle_of_patients_is_not_a_file(tmp_path: Path,
                                                              content: str) -> None:
    path = tmp_path / "people.json"
    path.write_text(content)
    with pytest.raises(NotAFile):
        list(iter_fhir_patients(path))


def test_bundle_cut_off_mid_way_is_not_a_file(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    text = json.dumps(_bundle([record_to_fhir(make_patient(NHS))] * 3))
    path.write_text(text[: len(text) // 2])
    with pytest.raises(NotAFile, match="after entry"):
        list(iter_fhir_patients(path))


def test_reading_a_bundle_does_not_grow_with_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    resource = json.dumps(record_to_fhir(make_patient(NHS)))
    with path.open("w") as handle:
        handle.write('{"resourceType": "Bundle", "type": "collection", "entry": [')
        handle.write(",".join(f'{{"resource": {resource}}}' for _ in range(5000)))
        handle.write("]}")
    tracemalloc.start()
    count = sum(1 for _ in iter_fhir_patients(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 5000
    assert peak < path.stat().st_size / 10  # a ~8 MB file, read in well under 1 MB


def test_write_ndjson_then_read_gives_the_same_records(tmp_path: Path) -> None:
    numbers = synthetic_nhs_numbers(600)
    records = [make_patient(next(numbers)) for _ in range(3)]
    path = tmp_path / "out.ndjson"
    assert write_ndjson(records, path) == 3
    read = [fhir_to_record(r) for _, r in iter_fhir_patients(path)]  # type: ignore[arg-type]
    assert read == records
    buffer = io.StringIO()
    write_ndjson(records, buffer)
    assert buffer.getvalue() == path.read_text()
