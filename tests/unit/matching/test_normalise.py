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
    postcode_transpositions,
    soundex_neighbours,
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


def test_postcode_transpositions_keep_the_postcode_shape() -> None:
    assert postcode_transpositions("4350") == ("3450", "4530", "4305")
    assert "LS1 4PA" in postcode_transpositions("LS1 4AP")
    assert all(postcode_parts(p)[1] is not None for p in postcode_transpositions("LS1 4AP"))
    assert postcode_transpositions(None) == ()


def test_a_request_with_a_transposed_postcode_and_no_birth_date_is_found() -> None:
    register = normalise_person("r", "John", "Cosenza", "1980-01-16", "4305", nhs_number="1")
    request = normalise_person("q", "John", "Cosenza", None, "4035")
    assert MemoryIndex([register]).candidates(request) == [register]


def test_a_family_name_typo_that_changes_its_soundex_is_found_by_birth_date() -> None:
    register = normalise_person("r", "Lachlan", "Verco", "1983-01-03", "4109", nhs_number="1")
    request = normalise_person("q", "Lachoa", "Vero", "1983-01-03", "4100")
    assert MemoryIndex([register]).candidates(request) == [register]
    assert len(soundex_neighbours("V620")) == 18 and "V600" in soundex_neighbours("V620")


def test_names_and_the_first_two_characters_find_a_non_uk_postcode_typo() -> None:
    register = normalise_person("r", "Ann", "Lee", None, "3728", nhs_number="1")
    request = normalise_person("q", "Ann", "Lee", None, "3718")
    assert MemoryIndex([register]).candidates(request) == [register]
