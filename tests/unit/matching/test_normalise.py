from __future__ import annotations

import datetime as dt
import math

import pytest

from caldicott.matching.core.index import MemoryIndex, lookups
from caldicott.matching.core.normalise import (
    nickname_set,
    normalise_birth_date,
    normalise_name,
    normalise_person,
    postcode_parts,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("  O'Brien-Smyth ", "obriensmyth"), ("Zoë", "zoe"), ("", None), (None, None),
    (math.nan, None), ("---", None)])
def test_names_are_lower_case_letters_only(raw: object, expected: str | None) -> None:
    assert normalise_name(raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("raw", "expected"), [
    ("sw1a2aa", ("SW1A 2AA", "SW1A 2", "SW1A")), ("LS1  4AP", ("LS1 4AP", "LS1 4", "LS1")),
    ("4223", ("4223", None, None)), ("", (None, None, None))])
def test_postcodes_split_into_full_sector_and_district(raw: str, expected: tuple) -> None:
    assert postcode_parts(raw) == expected


def test_nicknames_meet_at_their_formal_name() -> None:
    assert set(nickname_set("bill")) & set(nickname_set("billy"))
    assert "william" in nickname_set("will")


@pytest.mark.parametrize(("raw", "expected"), [
    ("19151111", "1915-11-11"), (dt.date(2001, 2, 3), "2001-02-03"), ("1990-13-01", None),
    ("not a date", None)])
def test_birth_dates_become_iso_or_none(raw: object, expected: str | None) -> None:
    assert normalise_birth_date(raw) == expected  # type: ignore[arg-type]


def test_a_swapped_request_finds_the_register_row() -> None:
    register = normalise_person("r", "Ann", "Lee", "1990-01-02", nhs_number="9990000018")
    request = normalise_person("q", "Lee", "Ann", "1990-01-02")
    assert MemoryIndex([register]).candidates(request) == [register]


def test_a_request_with_a_wrong_year_is_found_by_names_and_district() -> None:
    register = normalise_person("r", "Ann", "Lee", "1990-01-02", "LS1 4AP", nhs_number="1")
    request = normalise_person("q", "Ann", "Lee", "1991-01-02", "LS1 9ZZ")
    assert MemoryIndex([register]).candidates(request) == [register]


def test_a_request_without_usable_fields_looks_nothing_up() -> None:
    assert lookups(normalise_person("q", None, None, None)) == []
