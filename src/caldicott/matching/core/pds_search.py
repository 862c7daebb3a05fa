"""The PDS FHIR ``GET /Patient`` search parameters: parsing and validation.

Follows NHS England's Personal Demographics Service (see domain.md 5.3-5.4):
``family``, ``given`` (repeatable), ``gender``, ``birthdate`` (``eq``/``ge``/
``le``, repeatable for a range), ``address-postalcode`` (or
``address-postcode``), ``_fuzzy-match``, ``_exact-match``, ``_history``,
``_max-results`` (1-50), and FHIR's standard ``_count`` with the same meaning
and limits (generic FHIR clients send it: fhirpy's ``.limit(5)``). Anything else
is refused, as PDS refuses it, with the PDS error code in the OperationOutcome.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from caldicott.errors import InvalidInput
from caldicott.matching.core.normalise import normalise_name

ALLOWED = {"family", "given", "gender", "birthdate", "address-postalcode", "address-postcode",
           "_fuzzy-match", "_exact-match", "_history", "_max-results", "_count"}
GENDERS = ("male", "female", "other", "unknown")
_DATE = re.compile(r"^(eq|ge|le)?(\d{4}-\d{2}-\d{2})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MissingValue(InvalidInput):
    pds_code = "MISSING_VALUE"


class InvalidSearch(InvalidInput):
    pds_code = "INVALID_SEARCH_DATA"


class AdditionalProperties(InvalidInput):
    pds_code = "ADDITIONAL_PROPERTIES"


class UnsupportedService(InvalidInput):
    pds_code = "UNSUPPORTED_SERVICE"


@dataclass(frozen=True)
class PatientSearch:
    family: str | None
    given: tuple[str, ...]
    gender: str | None
    born_on: dt.date | None
    born_from: dt.date | None
    born_to: dt.date | None
    postcode: str | None
    fuzzy: bool
    exact: bool
    history: bool
    max_results: int

    @property
    def wildcard(self) -> bool:
        return any("*" in v for v in (self.family or "", *self.given, self.postcode or ""))


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidSearch(f"{name} may be given only once")
    return values[0]


def _flag(params: dict[str, list[str]], name: str) -> bool:
    raw = _one(params, name)
    if raw is None:
        return False
    if raw.lower() not in ("true", "false"):
        raise InvalidInput(f"{name} must be true or false, not {raw!r}")
    return raw.lower() == "true"


def _name(raw: str | None, what: str) -> str | None:
    if raw is None:
        return None
    value = raw.strip()
    if not value:
        raise MissingValue(f"{what} is empty")
    if "*" in value[:2]:
        raise InvalidInput(f"{what} {raw!r}: a wildcard must follow at least 2 characters")
    return value


def _dates(values: Sequence[str], today: dt.date) -> tuple[dt.date | None, ...]:
    on = start = end = None
    for raw in values:
        match = _DATE.match(raw.strip())
        if not match:
            raise InvalidInput(f"birthdate {raw!r} must be eqYYYY-MM-DD, geYYYY-MM-DD or "
                               "leYYYY-MM-DD")
        try:
            date = dt.date.fromisoformat(match.group(2))
        except ValueError:
            raise InvalidInput(f"birthdate {raw!r} is not a real date") from None
        if date > today:
            raise InvalidInput(f"birthdate {date.isoformat()} is in the future")
        prefix = match.group(1) or "eq"
        if prefix == "eq":
            on = date
        elif prefix == "ge":
            start = date
        else:
            end = date
    if on and (start or end):
        raise InvalidSearch("birthdate: give one date (eq) or a range (ge/le), not both")
    if start and end and start > end:
        raise InvalidSearch("birthdate range ends before it starts")
    return on, start, end


def _limit(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    if not re.fullmatch(r"\d{1,3}", raw.strip()) or not 1 <= int(raw) <= 50:
        raise InvalidInput(f"{name} must be a whole number from 1 to 50, not {raw!r}")
    return int(raw)


def _max_results(params: dict[str, list[str]]) -> int:
    """PDS's ``_max-results`` or FHIR's ``_count`` (same meaning); 50 when neither."""
    pds = _limit(_one(params, "_max-results"), "_max-results")
    fhir = _limit(_one(params, "_count"), "_count")
    if pds is not None and fhir is not None and pds != fhir:
        raise InvalidSearch(f"_max-results ({pds}) and _count ({fhir}) disagree; give one")
    return pds or fhir or 50


def parse_search(params: dict[str, list[str]], today: dt.date | None = None) -> PatientSearch:
    """Validate a ``GET /Patient`` query (each parameter's list of values).

    Example:
        >>> s = parse_search({"family": ["Smith"], "birthdate": ["eq2010-10-22"]})
        >>> s.family, s.born_on, s.max_results
        ('Smith', datetime.date(2010, 10, 22), 50)
    """
    if not params:
        raise UnsupportedService("a search needs parameters (family and birthdate at least)")
    unknown = sorted(set(params) - ALLOWED)
    if unknown:
        raise AdditionalProperties(f"unknown search parameter(s): {', '.join(unknown)}")
    _refuse_control_characters(params)
    gender = _one(params, "gender")
    if gender is not None and gender not in GENDERS:
        raise InvalidInput(f"gender must be one of {', '.join(GENDERS)}, not {gender!r}")
    postcode = _one(params, "address-postalcode") or _one(params, "address-postcode")
    if postcode is not None and not postcode.strip():
        raise MissingValue("address-postalcode is empty")
    on, start, end = _dates(params.get("birthdate", []), today or dt.date.today())
    search = PatientSearch(
        family=_name(_one(params, "family"), "family"),
        given=tuple(g for g in (_name(v, "given") for v in params.get("given", [])) if g),
        gender=gender, born_on=on, born_from=start, born_to=end,
        postcode=postcode.strip() if postcode else None, fuzzy=_flag(params, "_fuzzy-match"),
        exact=_flag(params, "_exact-match"), history=_flag(params, "_history"),
        max_results=_max_results(params))
    _check_combination(search)
    return search


def _refuse_control_characters(params: dict[str, list[str]]) -> None:
    # A NUL cannot be stored or compared in PostgreSQL text (it was a 500), and no
    # name, date or postcode holds a control character.
    for name, values in params.items():
        if any(_CONTROL.search(value) for value in values):
            raise InvalidInput(f"{name} must not contain control characters")


def _check_comparable_names(s: PatientSearch) -> None:
    # A name with no letters the matcher compares (an emoji, only punctuation) would
    # count as missing, and a missing field agrees with everyone: every candidate
    # would score 1.0.
    for what, value in (("family", s.family), *(("given", g) for g in s.given)):
        if value is not None and normalise_name(value) is None:
            raise InvalidSearch(f"{what} {value!r} has no letters to compare; a fuzzy "
                                "search needs names written in letters")


def _check_combination(s: PatientSearch) -> None:
    born = s.born_on or s.born_from or s.born_to
    if s.fuzzy:
        if s.wildcard:
            raise InvalidSearch("wildcards cannot be used with _fuzzy-match")
        _check_comparable_names(s)
        if (s.born_from or s.born_to) and not s.born_on:
            raise InvalidSearch("_fuzzy-match needs one date of birth (eqYYYY-MM-DD)")
        ok = (s.given and s.family and born) or (
            born and s.gender and s.postcode and (s.family or s.given))
        if not ok:
            raise InvalidSearch("a fuzzy search needs given + family + birthdate, or "
                                "family or given + birthdate + gender + postcode")
    elif not (s.family and born):
        raise InvalidSearch("a search needs at least family and birthdate")
