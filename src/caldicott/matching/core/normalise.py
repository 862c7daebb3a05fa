"""Normalisation: the one place a name, a date of birth or a postcode becomes the
value the model compares.

Every path into the matcher (the register index, a real-time request, a batch
file, the Splink training data) goes through :func:`normalise_person`, so the
values Splink sees in DuckDB and the values the in-process scorer sees are the
same strings. Blocking keys are computed here too, for the same reason: the
real-time index and Splink's blocking rules must propose the same candidates.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import jellyfish
from nicknames import NickNamer

from caldicott.postcodes import COMPACT as _UK_POSTCODE

_SEXES = {"male": "male", "m": "male", "female": "female", "f": "female", "other": "other"}


def _missing(raw: object) -> bool:
    """None, NaN (pandas' missing value) or an empty string."""
    return raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw == ""


def normalise_name(raw: str | None) -> str | None:
    """Lower-case, strip accents and everything that is not a letter.

    Example:
        >>> normalise_name("  O'Brien-Smyth ")
        'obriensmyth'
        >>> normalise_name("") is None
        True
    """
    if _missing(raw):
        return None
    return _letters(str(raw))


@lru_cache(maxsize=262144)
def _letters(raw: str) -> str | None:
    # Names repeat a great deal in a register: the cache makes an index build
    # of millions of rows cheap.
    decomposed = unicodedata.normalize("NFKD", raw)
    letters = "".join(c for c in decomposed.lower() if "a" <= c <= "z")
    return letters or None


@lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=65536)
def nickname_set(given: str | None) -> tuple[str, ...] | None:
    """The name itself plus the formal names it is a nickname of, sorted.

    Two given names are nicknames of each other when their sets intersect
    (``bill`` and ``billy`` both lead to ``william``).

    Example:
        >>> "william" in nickname_set("bill")
        True
    """
    if given is None:
        return None
    return tuple(sorted({given} | set(_nicknamer().canonicals_of(given))))


def postcode_parts(raw: str | None) -> tuple[str | None, str | None, str | None]:
    """Full postcode, sector and district; sector and district only for UK shapes.

    Example:
        >>> postcode_parts("sw1a2aa")
        ('SW1A 2AA', 'SW1A 2', 'SW1A')
        >>> postcode_parts("4223")
        ('4223', None, None)
    """
    if _missing(raw):
        return None, None, None
    compact = re.sub(r"[^A-Za-z0-9]", "", str(raw)).upper()
    if not compact:
        return None, None, None
    match = _UK_POSTCODE.match(compact)
    if not match:
        return compact, None, None
    outward, sector_digit, unit = match.groups()
    return f"{outward} {sector_digit}{unit}", f"{outward} {sector_digit}", outward


def normalise_birth_date(raw: dt.date | str | None) -> str | None:
    """An ISO date string, or None for a missing or unreadable date.

    Example:
        >>> normalise_birth_date("19151111")
        '1915-11-11'
    """
    if _missing(raw):
        return None
    if isinstance(raw, dt.date):
        return raw.isoformat()
    text = str(raw).strip()
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    month, day = int(text[5:7]), int(text[8:])
    # A date with an impossible month or day is kept out rather than guessed at.
    return text if 1 <= month <= 12 and 1 <= day <= 31 else None


def normalise_sex(raw: str | None) -> str | None:
    """``male``/``female``/``other``; unknown or missing sex is None (not compared)."""
    if _missing(raw):
        return None
    return _SEXES.get(str(raw).strip().lower())


@lru_cache(maxsize=262144)
def _soundex(name: str | None) -> str | None:
    return jellyfish.soundex(name) if name else None


def _key(*parts: str | None) -> str | None:
    return None if any(p is None for p in parts) else "|".join(parts)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Person:
    """A normalised record: the columns the model and the blocking rules read.

    ``record_id`` identifies the row (a register row, a request); ``nhs_number``
    is the person it belongs to (None for a request). ``tf_*`` are the term
    frequencies of the row's own values in the register, or None.
    """

    record_id: str
    nhs_number: str | None
    given_name: str | None
    family_name: str | None
    given_nicks: tuple[str, ...] | None
    birth_date: str | None
    birth_year: str | None
    birth_month: str | None
    birth_day: str | None
    postcode: str | None
    postcode_sector: str | None
    postcode_district: str | None
    sex: str | None
    k_family_dob: str | None
    k_given_dob: str | None
    k_postcode_year: str | None
    k_names_year: str | None
    k_family_postcode: str | None
    k_given_postcode: str | None
    k_names_district: str | None
    tf_given_name: float | None = None
    tf_family_name: float | None = None
    tf_postcode: float | None = None

    def as_row(self) -> dict[str, Any]:
        """The record as a flat dict (Splink / pandas / the database)."""
        return asdict(self)


BLOCKING_KEYS = ("k_family_dob", "k_given_dob", "k_postcode_year", "k_names_year",
                 "k_family_postcode", "k_given_postcode", "k_names_district")


def normalise_person(record_id: str, given: str | None, family: str | None,
                     birth_date: dt.date | str | None, postcode: str | None = None,
                     sex: str | None = None, nhs_number: str | None = None) -> Person:
    """Normalise one record and compute its blocking keys.

    Example:
        >>> p = normalise_person("q1", "Bill", "Smith", "1980-02-03", "ls1 4ap")
        >>> (p.given_name, p.postcode_sector, p.k_family_dob)
        ('bill', 'LS1 4', 'S530|1980-02-03')
    """
    g, f = normalise_name(given), normalise_name(family)
    dob = normalise_birth_date(birth_date)
    full, sector, district = postcode_parts(postcode)
    year = dob[:4] if dob else None
    sg, sf = _soundex(g), _soundex(f)
    return Person(
        record_id=str(record_id), nhs_number=nhs_number, given_name=g, family_name=f,
        given_nicks=nickname_set(g), birth_date=dob, birth_year=year,
        birth_month=dob[5:7] if dob else None, birth_day=dob[8:] if dob else None,
        postcode=full, postcode_sector=sector, postcode_district=district,
        sex=normalise_sex(sex),
        k_family_dob=_key(sf, dob), k_given_dob=_key(sg, dob),
        k_postcode_year=_key(full, year), k_names_year=_key(sf, sg, year),
        k_family_postcode=_key(sf, full), k_given_postcode=_key(sg, full),
        k_names_district=_key(sf, sg, _area(full, district)),
    )


def _area(full: str | None, district: str | None) -> str | None:
    """The postcode district, or for a postcode of another shape (an Australian
    ``4305``) its first two characters: names + area still find a request whose
    postcode has a typo when its date of birth is missing or wrong."""
    if district is not None or full is None:
        return district
    return full[:2]


def swapped_keys(person: Person) -> dict[str, str | None]:
    """Keys under which a request with given and family names swapped is found.

    The register's ``k_given_dob`` holds soundex(given)|dob; a request whose
    *family* name is the register's given name is found by looking its family
    soundex up there (and vice versa). Splink's batch rule says the same thing
    in SQL: ``l.k_family_dob = r.k_given_dob``. The same holds for the
    name + postcode keys.
    """
    return {"k_given_dob": person.k_family_dob, "k_family_dob": person.k_given_dob,
            "k_given_postcode": person.k_family_postcode,
            "k_family_postcode": person.k_given_postcode}


@lru_cache(maxsize=65536)
def postcode_transpositions(full: str | None) -> tuple[str, ...]:
    """The postcode with two adjacent characters swapped (``4305`` for ``4350``),
    each as :func:`postcode_parts` writes it; a UK postcode only yields UK shapes.

    Example:
        >>> postcode_transpositions("4350")
        ('3450', '4530', '4305')
    """
    if full is None:
        return ()
    compact = full.replace(" ", "")
    uk = _UK_POSTCODE.match(compact) is not None
    out: list[str] = []
    for i in range(len(compact) - 1):
        if compact[i] == compact[i + 1]:
            continue
        swapped = compact[:i] + compact[i + 1] + compact[i] + compact[i + 2:]
        if uk and not _UK_POSTCODE.match(swapped):
            continue
        variant = postcode_parts(swapped)[0]
        if variant is not None and variant != full and variant not in out:
            out.append(variant)
    return tuple(out)


def transposed_postcode_keys(person: Person) -> list[tuple[str, str]]:
    """Postcode blocking keys of a request under each transposition of its
    postcode: a request with ``4305`` finds the register row with ``4350``.
    Only the request side varies (the register stores one value per key), so
    real-time and batch, which both look up :func:`~caldicott.matching.core.index.lookups`,
    see the same candidates.
    """
    out: list[tuple[str, str]] = []
    if person.postcode is None:
        return out
    sg, sf = _soundex(person.given_name), _soundex(person.family_name)
    for variant in postcode_transpositions(person.postcode):
        _, _, district = postcode_parts(variant)
        for column, value in (("k_postcode_year", _key(variant, person.birth_year)),
                              ("k_family_postcode", _key(sf, variant)),
                              ("k_given_postcode", _key(sg, variant)),
                              ("k_names_district", _key(sf, sg, _area(variant, district)))):
            if value is not None:
                out.append((column, value))
    return out


@lru_cache(maxsize=65536)
def soundex_neighbours(code: str | None) -> tuple[str, ...]:
    """Soundex codes one digit away (``R320`` → ``R300``, ``R321``…): a typo in
    a name usually changes one digit of its code.

    Example:
        >>> len(soundex_neighbours("R320"))
        18
    """
    if code is None:
        return ()
    out = []
    for i in range(1, 4):
        for digit in "0123456":
            if digit != code[i]:
                out.append(code[:i] + digit + code[i + 1:])
    return tuple(out)


def typo_name_keys(person: Person) -> list[tuple[str, str]]:
    """Family name + date of birth keys under each soundex code one digit away
    from the request's family name's: a request with a typo in the family name
    and an exact date of birth finds its person even when the typo changes the
    name's code. The date of birth keeps the lookups selective (about 30 people
    share a birthday in a million); the given name is not varied too, for
    want of gain (no more requests found in FEBRL4) at 18 more lookups."""
    if person.birth_date is None:
        return []
    return [("k_family_dob", f"{code}|{person.birth_date}")
            for code in soundex_neighbours(_soundex(person.family_name))]


def from_index(record_id: str, nhs_number: str, given: str | None, family: str | None,
               given_nicks: str | None, birth_date: str | None, postcode: str | None,
               sex: str | None, tf_given_name: float | None = None,
               tf_family_name: float | None = None, tf_postcode: float | None = None) -> Person:
    """Rebuild a register row from the index's stored (already normalised) values.

    Blocking keys are not needed to score, so they are left out.

    Example:
        >>> from_index("1", "9990000018", "ann", "lee", "ann|anna", "1990-01-02", "LS1 4AP",
        ...            None).postcode_district
        'LS1'
    """
    full, sector, district = postcode_parts(postcode)
    return Person(
        record_id=record_id, nhs_number=nhs_number, given_name=given, family_name=family,
        given_nicks=tuple(given_nicks.split("|")) if given_nicks else None,
        birth_date=birth_date, birth_year=birth_date[:4] if birth_date else None,
        birth_month=birth_date[5:7] if birth_date else None,
        birth_day=birth_date[8:] if birth_date else None,
        postcode=full, postcode_sector=sector, postcode_district=district, sex=sex,
        k_family_dob=None, k_given_dob=None, k_postcode_year=None, k_names_year=None,
        k_family_postcode=None, k_given_postcode=None, k_names_district=None,
        tf_given_name=tf_given_name, tf_family_name=tf_family_name, tf_postcode=tf_postcode)


def with_term_frequencies(person: Person, tf: dict[str, dict[str, float]]) -> Person:
    """The person with the register's term frequencies of its own values."""
    from dataclasses import replace

    return replace(person, tf_given_name=tf["given_name"].get(person.given_name or ""),
                   tf_family_name=tf["family_name"].get(person.family_name or ""),
                   tf_postcode=tf["postcode"].get(person.postcode or ""))
