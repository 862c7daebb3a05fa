"""The minimal release: a FHIR ``Patient`` holding only the fields a decision allowed (pure).

Built field by field from an allow-list, never by deleting from a full record,
so a field nobody thought of can never leak. A restricted patient's address
and GP are dropped here as well as by the decision (belt and braces). The
resource says whether it told the requester something new: an address
different from the one they supplied.

Whether a trace may name a person at all (the release rule, raised for each field a
request lacks) is decided before this, by :mod:`caldicott.matching.core.release`: the
same rule for real-time and batch traces.
"""

from __future__ import annotations

import re
from typing import Any

from caldicott.register.fhir import record_to_fhir
from caldicott.register.records import PatientRecord

RESTRICTED = frozenset({"address", "gp_practice", "primary_care_area"})
NEW_INFORMATION_URL = "https://caldicott.invalid/fhir/StructureDefinition/new-information"
OUTCOME_URL = "https://caldicott.invalid/fhir/StructureDefinition/release-outcome"
#: What each less intrusive outcome tells the requester, in place of any field.
OUTCOME_TEXTS = {
    "fields": "The fields the agreement allows were released.",
    "forward_letter": "NHS Digital forwarded the requester's letter to the person; where the "
                      "person lives was not disclosed.",
    "contact_via_gp": "NHS Digital asked the person's GP practice to pass on the request to "
                      "make contact; the practice and the address were not disclosed.",
    "confirm_presence": "The person is registered with the NHS; nothing else was disclosed.",
}
_REGISTRATION = "nhs-registration-date"
_AREA = "primary-care-area"


def _squash(text: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())


def tells_something_new(record: PatientRecord, fields: frozenset[str],
                        supplied_postcode: str | None, supplied_line: str | None) -> bool:
    """Whether a release gives an address the requester did not already have.

    Example:
        >>> import datetime as dt
        >>> from caldicott.register.records import Address
        >>> r = PatientRecord("9990000018", "Ann", "Lee", dt.date(1980, 1, 2),
        ...     addresses=(Address("1 Elm Road", "", "Leeds", "LS1 1AA"),))
        >>> tells_something_new(r, frozenset({"address"}), "ls11aa", None)
        False
        >>> tells_something_new(r, frozenset({"address"}), "LS2 2BB", None)
        True
    """
    address = record.last_known_address
    if "address" not in fields or record.restricted or address is None:
        return False
    if _squash(supplied_postcode) != _squash(address.postcode):
        return True
    return bool(supplied_line) and _squash(supplied_line) != _squash(address.line1)


def release_resource(record: PatientRecord, fields: frozenset[str], release_id: str,
                     new_information: bool, outcome: str = "fields",
                     deceased: bool = False) -> dict[str, Any]:
    """The FHIR Patient that leaves: only ``fields``; no NHS number, no clinical data.

    ``outcome`` names a less intrusive outcome (then ``fields`` is empty and the
    resource says only what was done); ``deceased`` adds that the person has died.

    Example:
        >>> import datetime as dt
        >>> r = PatientRecord("9990000018", "Ann", "Lee", dt.date(1980, 1, 2), "female")
        >>> sorted(release_resource(r, frozenset({"date_of_birth"}), "r1", False))
        ['birthDate', 'extension', 'id', 'resourceType']
    """
    if record.restricted:
        fields = fields - RESTRICTED
    full = record_to_fhir(record)
    out: dict[str, Any] = {"resourceType": "Patient", "id": release_id}
    extensions: list[dict[str, Any]] = [
        {"url": NEW_INFORMATION_URL, "valueBoolean": new_information},
        {"url": OUTCOME_URL, "valueCodeableConcept": {
            "coding": [{"code": outcome}], "text": OUTCOME_TEXTS[outcome]}}]
    for extension in full.get("extension", []):
        wanted = ((_REGISTRATION in extension["url"] and "registration_date" in fields)
                  or (_AREA in extension["url"] and "primary_care_area" in fields))
        if wanted:
            extensions.append(extension)
    out["extension"] = extensions
    if deceased:
        out["deceasedBoolean"] = True
    names = [n for n in full["name"] if (n["use"] == "usual" and "name" in fields)
             or (n["use"] == "old" and "previous_names" in fields)]
    if names:
        out["name"] = names
    if "sex" in fields:
        out["gender"] = full["gender"]
    if "date_of_birth" in fields:
        out["birthDate"] = full["birthDate"]
    if "address" in fields and record.last_known_address is not None:
        last = record_to_fhir(_only_last_address(record))["address"]
        out["address"] = last
    if "gp_practice" in fields and record.gp is not None:
        out["contained"] = full["contained"]
        out["generalPractitioner"] = full["generalPractitioner"]
    return out


def _only_last_address(record: PatientRecord) -> PatientRecord:
    from dataclasses import replace

    last = record.last_known_address
    return replace(record, addresses=(last,) if last else ())
