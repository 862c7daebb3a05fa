"""The register as FHIR R4 ``Patient`` resources, shaped like the Personal
Demographics Service's (pure: no SQLAlchemy, no FastAPI).

Mapping (one :class:`PatientRecord` ⇄ one ``Patient``):

* NHS number → ``identifier[]`` with system ``https://fhir.nhs.uk/Id/nhs-number``
  (and ``id``).
* current name → ``name[]`` with ``use: usual``; each previous name → ``use: old``.
  Given names split on single spaces into ``given[]`` as PDS does.
* sex → ``gender``; birth and death → ``birthDate``, ``deceasedDateTime``.
* address history, oldest first → ``address[]`` (``line`` = line 1, line 2;
  ``city`` = town; ``postalCode``; ``period.start``/``end``). The open address
  has ``use: home``, closed ones ``use: old``. An empty line 1 before a line 2
  is carried as a null ``line`` entry with a data-absent-reason.
* GP practice → a contained ``Organization`` (ODS code identifier, name,
  address text) referenced by ``generalPractitioner``; the reference also
  carries the ODS code as PDS's own references do.
* restricted → ``meta.security`` code ``R`` (else ``U``), system
  ``http://terminology.hl7.org/CodeSystem/v3-Confidentiality``.
* primary care area → extension :data:`PRIMARY_CARE_AREA_URL`
  (``valueIdentifier`` with the ODS code system: ICB and sub-ICB codes are ODS
  codes); NHS registration date → extension :data:`REGISTRATION_DATE_URL`
  (``valueDate``). Neither UK Core nor PDS defines these two, so caldicott names
  them under its own reserved (non-resolving) base.

Incoming resources are validated with ``fhir.resources`` (R4B); any failure
is a :class:`RecordError` with a plain reason, so an importer can refuse the
one resource and go on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from caldicott.errors import NotAFile
from caldicott.register.records import (
    SEXES,
    Address,
    GPPractice,
    PatientRecord,
    PreviousName,
    RecordError,
    check_nhs_number,
    normalise_postcode,
)

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
CONFIDENTIALITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
DATA_ABSENT_URL = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
_EXTENSION_BASE = "https://caldicott.invalid/fhir/StructureDefinition/"
PRIMARY_CARE_AREA_URL = _EXTENSION_BASE + "primary-care-area"
REGISTRATION_DATE_URL = _EXTENSION_BASE + "nhs-registration-date"
_GP_ID = "gp"
_SECURITY = {
    True: {"system": CONFIDENTIALITY_SYSTEM, "code": "R", "display": "restricted"},
    False: {"system": CONFIDENTIALITY_SYSTEM, "code": "U", "display": "unrestricted"},
}


# --- record → resource -------------------------------------------------------


def _given(given: str) -> list[str]:
    # Split as PDS does, but only when joining back gives the same text.
    parts = given.split()
    if parts and " ".join(parts) == given:
        return parts
    return [given] if given else []


def _human_name(use: str, given: str, family: str) -> dict[str, Any]:
    name: dict[str, Any] = {"use": use, "family": family}
    if given_list := _given(given):
        name["given"] = given_list
    return name


def _address(address: Address) -> dict[str, Any]:
    out: dict[str, Any] = {"use": "home" if address.is_current else "old"}
    if address.line2:
        out["line"] = [address.line1 or None, address.line2]
        if not address.line1:
            absent = {"extension": [{"url": DATA_ABSENT_URL, "valueCode": "unknown"}]}
            out["_line"] = [absent, None]
    elif address.line1:
        out["line"] = [address.line1]
    if address.town:
        out["city"] = address.town
    out["postalCode"] = address.postcode
    period = {}
    if address.from_date:
        period["start"] = address.from_date.isoformat()
    if address.to_date:
        period["end"] = address.to_date.isoformat()
    if period:
        out["period"] = period
    return out


def _organisation(gp: GPPractice) -> dict[str, Any]:
    org: dict[str, Any] = {
        "resourceType": "Organization",
        "id": _GP_ID,
        "identifier": [{"system": ODS_SYSTEM, "value": gp.code}],
    }
    if gp.name:
        org["name"] = gp.name
    if gp.address:
        org["address"] = [{"text": gp.address}]
    return org


def _extensions(record: PatientRecord) -> list[dict[str, Any]]:
    extensions: list[dict[str, Any]] = []
    if record.primary_care_area:
        extensions.append({
            "url": PRIMARY_CARE_AREA_URL,
            "valueIdentifier": {"system": ODS_SYSTEM, "value": record.primary_care_area},
        })
    if record.registered_on:
        extensions.append(
            {"url": REGISTRATION_DATE_URL, "valueDate": record.registered_on.isoformat()}
        )
    return extensions


def record_to_fhir(record: PatientRecord) -> dict[str, Any]:
    """A register record as a FHIR R4 ``Patient`` (a JSON-ready dict).

    Example:
        >>> import datetime as dt
        >>> patient = record_to_fhir(PatientRecord("9990000018", "Ann Marie", "Lee",
        ...     dt.date(1980, 1, 2), "female"))
        >>> patient["identifier"][0]["value"], patient["name"][0]["given"]
        ('9990000018', ['Ann', 'Marie'])
    """
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": record.nhs_number,
        "meta": {"security": [_SECURITY[record.restricted]]},
    }
    if record.gp:
        resource["contained"] = [_organisation(record.gp)]
    if extensions := _extensions(record):
        resource["extension"] = extensions
    resource["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": record.nhs_number}]
    resource["name"] = [_human_name("usual", record.given_name, record.family_name)] + [
        _human_name("old", n.given, n.family) for n in record.previous_names
    ]
    resource["gender"] = record.sex
    resource["birthDate"] = record.birth_date.isoformat()
    if record.death_date:
        resource["deceasedDateTime"] = record.death_date.isoformat()
    if record.addresses:
        resource["address"] = [_address(a) for a in record.addresses]
    if record.gp:
        resource["generalPractitioner"] = [{
            "reference": f"#{_GP_ID}",
            "identifier": {"system": ODS_SYSTEM, "value": record.gp.code},
        }]
    return resource


# --- resource → record -------------------------------------------------------


def _validate(resource: object) -> dict[str, Any]:
    if not isinstance(resource, dict):
        raise RecordError("not a FHIR resource (not a JSON object)")
    kind = resource.get("resourceType")
    if kind != "Patient":
        raise RecordError(f"not a Patient resource (resourceType {kind!r})")
    from fhir.resources.R4B.patient import Patient  # heavy: load on first use
    from pydantic import ValidationError

    try:
        Patient.model_validate(resource)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "Patient"
        raise RecordError(f"invalid FHIR Patient: {where}: {first['msg']}") from None
    return resource


def _full_date(raw: object, what: str) -> dt.date:
    text = str(raw)
    try:
        # A dateTime keeps its local calendar date; a partial date is refused.
        return dt.date.fromisoformat(text[:10] if len(text) >= 10 else text)
    except ValueError:
        raise RecordError(f"{what} {text!r} is not a full date (YYYY-MM-DD)") from None


def _optional_date(raw: object, what: str) -> dt.date | None:
    return _full_date(raw, what) if raw else None


def _nhs_number(resource: dict[str, Any]) -> str:
    for identifier in resource.get("identifier") or ():
        if identifier.get("system") == NHS_NUMBER_SYSTEM and identifier.get("value"):
            return check_nhs_number(str(identifier["value"]))
    raise RecordError(f"no NHS number identifier (system {NHS_NUMBER_SYSTEM})")


def _names(resource: dict[str, Any]) -> tuple[PreviousName, tuple[PreviousName, ...]]:
    names = resource.get("name") or []
    old = [n for n in names if n.get("use") in ("old", "maiden")]
    current = [n for n in names if n.get("use") in ("usual", "official")] or [
        n for n in names if n not in old
    ]
    if not current:
        raise RecordError("no current name")

    def plain(name: dict[str, Any]) -> PreviousName:
        return PreviousName(" ".join(name.get("given") or ()), name.get("family") or "")

    return plain(current[0]), tuple(plain(n) for n in old)


def _record_address(raw: dict[str, Any]) -> Address:
    lines = [line or "" for line in raw.get("line") or ()]
    period = raw.get("period") or {}
    return Address(
        line1=lines[0] if lines else "",
        line2=", ".join(lines[1:]),
        town=raw.get("city") or "",
        postcode=normalise_postcode(raw.get("postalCode") or ""),
        from_date=_optional_date(period.get("start"), "address start date"),
        to_date=_optional_date(period.get("end"), "address end date"),
    )


def _gp(resource: dict[str, Any]) -> GPPractice | None:
    references = resource.get("generalPractitioner") or []
    if not references:
        return None
    reference = references[0]
    contained = {r.get("id"): r for r in resource.get("contained") or ()}
    org = contained.get(str(reference.get("reference", "")).removeprefix("#"))
    if org is None:
        code = (reference.get("identifier") or {}).get("value")
        if not code:
            raise RecordError("generalPractitioner has no ODS code")
        return GPPractice(str(code), "")
    codes = [i.get("value") for i in org.get("identifier") or () if i.get("value")]
    if not codes:
        raise RecordError("GP practice organisation has no ODS code")
    address = (org.get("address") or [{}])[0].get("text") or ""
    return GPPractice(str(codes[0]), org.get("name") or "", address)


def _extension(resource: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in resource.get("extension") or () if e.get("url") == url), None)


def _restricted(resource: dict[str, Any]) -> bool:
    codes = {
        s.get("code")
        for s in (resource.get("meta") or {}).get("security") or ()
        if s.get("system") in (CONFIDENTIALITY_SYSTEM, None)
    }
    if "REDACTED" in codes:
        raise RecordError("record is redacted (meta.security REDACTED)")
    return bool(codes & {"R", "V"})


def fhir_to_record(resource: dict[str, Any]) -> PatientRecord:
    """Read one FHIR R4 ``Patient`` into a register record (field checks only).

    Raises:
        RecordError: not a Patient, invalid FHIR, a bad NHS number, a partial
            date or a postcode that is not a UK postcode shape.

    Example:
        >>> fhir_to_record({"resourceType": "Patient",
        ...     "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": "9990000018"}],
        ...     "name": [{"family": "Lee", "given": ["Ann"]}],
        ...     "birthDate": "1980-01-02"}).family_name
        'Lee'
    """
    resource = _validate(resource)
    nhs_number = _nhs_number(resource)
    current, previous = _names(resource)
    if not resource.get("birthDate"):
        raise RecordError("date of birth is missing")
    sex = resource.get("gender") or "unknown"
    if sex not in SEXES:
        raise RecordError(f"gender {sex!r} is not one of {', '.join(SEXES)}")
    area = _extension(resource, PRIMARY_CARE_AREA_URL)
    registered = _extension(resource, REGISTRATION_DATE_URL)
    return PatientRecord(
        nhs_number=nhs_number,
        given_name=current.given,
        family_name=current.family,
        birth_date=_full_date(resource["birthDate"], "date of birth"),
        sex=sex,
        death_date=_optional_date(resource.get("deceasedDateTime"), "date of death"),
        addresses=tuple(_record_address(a) for a in resource.get("address") or ()),
        previous_names=previous,
        gp=_gp(resource),
        primary_care_area=((area or {}).get("valueIdentifier") or {}).get("value"),
        registered_on=_optional_date((registered or {}).get("valueDate"), "registration date"),
        restricted=_restricted(resource),
    )


# --- files -------------------------------------------------------------------



Wrap = Callable[[IO[bytes]], IO[bytes]]


def _open(path: Path, wrap: Wrap | None) -> IO[bytes]:
    handle = path.open("rb")
    return wrap(handle) if wrap else handle


def _ndjson_patients(path: Path, wrap: Wrap | None = None
                     ) -> Iterator[tuple[int, dict[str, Any] | Exception]]:
    seen_json = False
    with _open(path, wrap) as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                resource = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as error:
                if not seen_json:  # the first line decides whether this is NDJSON at all
                    reason = f"line {number}: {_why(error)}"
                    raise NotAFile(f"{path.name} is not NDJSON ({reason})") from None
                yield number, RecordError(f"line {number} is not JSON: {_why(error)}")
                continue
            seen_json = True
            yield number, resource


def _why(error: Exception) -> str:
    """The first line of a parser's complaint, printable (yajl quotes the bad bytes)."""
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    raw = error.args[0] if error.args else ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return "".join(c for c in first if c.isprintable())[:120]


def _bundle_patients(path: Path, wrap: Wrap | None = None
                     ) -> Iterator[tuple[int, dict[str, Any] | Exception]]:
    import ijson

    number = 0
    with _open(path, wrap) as handle:
        try:
            for number, entry in enumerate(ijson.items(handle, "entry.item", use_float=True), 1):
                resource = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(resource, dict):
                    yield number, resource
                else:
                    yield number, RecordError(f"entry {number} has no resource")
        except (ijson.JSONError, UnicodeDecodeError) as error:
            where = f"after entry {number}" if number else "at the start"
            raise NotAFile(f"{path.name} is not valid JSON ({where}: {_why(error)})") from None
    if number == 0:
        yield from _single_resource(path)


def _single_resource(path: Path) -> Iterator[tuple[int, dict[str, Any] | Exception]]:
    # No entries: a lone Patient, or an empty Bundle. Anything else is not ours.
    import ijson

    with path.open("rb") as handle:
        top = next(ijson.items(handle, "", use_float=True), None)
    kind = top.get("resourceType") if isinstance(top, dict) else None
    if kind == "Patient":
        yield 1, top  # type: ignore[misc]
    elif kind != "Bundle":
        found = kind or "no resourceType"
        raise NotAFile(f"{path.name} is not a FHIR Bundle of Patients (found {found})")


def iter_fhir_patients(path: Path, fmt: str | None = None, wrap: Wrap | None = None
                       ) -> Iterator[tuple[int, dict[str, Any] | Exception]]:
    """Stream the Patient resources of a Bundle (``.json``) or NDJSON (``.ndjson``) file.

    Yields ``(number, resource)`` where number is the entry number in a Bundle
    or the line number in NDJSON, both counting from 1; an entry or line that
    cannot be read yields ``(number, RecordError)`` instead. Memory stays flat
    whatever the file size (a Bundle is parsed with ``ijson``). Resources are
    not validated here: pass each to :func:`fhir_to_record`. ``fmt`` (``json`` or
    ``ndjson``) overrides the file name's suffix; ``wrap`` wraps each opened
    handle (an importer counts bytes read through it for its progress bar).

    Raises:
        NotAFile: the file is not JSON / NDJSON at all, or breaks off mid-way.

    Example:
        >>> import tempfile, json
        >>> with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as f:
        ...     _ = f.write(json.dumps({"resourceType": "Patient"}) + "\\n")
        >>> [n for n, _ in iter_fhir_patients(Path(f.name))]
        [1]
    """
    path = Path(path)
    fmt = fmt or ("ndjson" if path.suffix.lower() in (".ndjson", ".jsonl") else "json")
    if fmt == "ndjson":
        return _ndjson_patients(path, wrap)
    return _bundle_patients(path, wrap)


def write_ndjson(records: Iterable[PatientRecord], out: Path | IO[str]) -> int:
    """Write records as FHIR NDJSON, one ``Patient`` per line; returns how many.

    Example:
        >>> import io, datetime as dt
        >>> write_ndjson([PatientRecord("9990000018", "Ann", "Lee", dt.date(1980, 1, 2))],
        ...     io.StringIO())
        1
    """
    if isinstance(out, Path):
        with out.open("w", encoding="utf-8", newline="\n") as handle:
            return write_ndjson(records, handle)
    count = 0
    for record in records:
        out.write(json.dumps(record_to_fhir(record), ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        count += 1
    return count
