"""The model's comparisons, written once and read twice.

Each level carries the SQL condition Splink evaluates in DuckDB *and* the
Python predicate the in-process scorer evaluates. They are written side by
side so that a reader can check they say the same thing; the parity benchmark
checks it on 10,000 pairs. String similarity uses ``jellyfish``, whose
Jaro-Winkler and Levenshtein agree with DuckDB's to the last bit (checked on
120,000 name pairs); Damerau-Levenshtein is only ever asked ``<= 1``, where
every implementation agrees.

The levels are for the errors tracing requests carry: typos and OCR slips
(Damerau-Levenshtein 1: one character changed, added, dropped or two swapped;
Jaro-Winkler bands), nicknames, given and family names swapped (whole, with a
typo, or half: one name in the other's place), a date of birth with day and
month transposed or one digit wrong, a postcode in the same sector or
district, one character off or with two characters transposed.

Null semantics follow SQL: a comparison of a missing value is never true, so a
missing sector or district can only fall to the ``else`` level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jellyfish

from caldicott.matching.core.normalise import Person

Predicate = Callable[[Person, Person], bool]


def _eq(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a == b


def _null(a: Any, b: Any) -> bool:
    return a is None or b is None


@dataclass(frozen=True)
class Level:
    label: str
    sql: str
    test: Predicate
    is_null: bool = False
    tf_column: str | None = None

    def as_splink(self) -> dict[str, Any]:
        level: dict[str, Any] = {"sql_condition": self.sql, "label_for_charts": self.label}
        if self.is_null:
            level["is_null_level"] = True
        if self.tf_column:
            level["tf_adjustment_column"] = self.tf_column
            level["tf_adjustment_weight"] = 1.0
        return level


@dataclass(frozen=True)
class Comparison:
    name: str
    description: str
    levels: tuple[Level, ...]

    def as_splink(self) -> dict[str, Any]:
        return {"output_column_name": self.name, "comparison_description": self.description,
                "comparison_levels": [lv.as_splink() for lv in self.levels]}

    def level_of(self, left: Person, right: Person) -> int:
        """Index of the first level whose condition holds (the else level always does)."""
        for index, level in enumerate(self.levels):
            if level.test(left, right):
                return index
        raise AssertionError(f"comparison {self.name} has no else level")


def _null_level(col: str) -> Level:
    return Level("null", f'"{col}_l" IS NULL OR "{col}_r" IS NULL',
                 lambda a, b: _null(getattr(a, col), getattr(b, col)), is_null=True)


def _exact(col: str, label: str = "exact", tf: bool = False) -> Level:
    return Level(label, f'"{col}_l" = "{col}_r"',
                 lambda a, b: _eq(getattr(a, col), getattr(b, col)), tf_column=col if tf else None)


def _jaro_winkler(col: str, threshold: float) -> Level:
    def test(left: Person, right: Person) -> bool:
        a, b = getattr(left, col), getattr(right, col)
        return a is not None and b is not None and (
            jellyfish.jaro_winkler_similarity(a, b) >= threshold)
    return Level(f"jaro-winkler >= {threshold}",
                 f'jaro_winkler_similarity("{col}_l", "{col}_r") >= {threshold}', test)


def _levenshtein(col: str, distance: int) -> Level:
    def test(left: Person, right: Person) -> bool:
        a, b = getattr(left, col), getattr(right, col)
        return a is not None and b is not None and (
            jellyfish.levenshtein_distance(a, b) <= distance)
    return Level(f"levenshtein <= {distance}", f'levenshtein("{col}_l", "{col}_r") <= {distance}',
                 test)


def _damerau(col: str, distance: int) -> Level:
    # Only ``<= 1`` is used: at distance 1 the restricted (optimal string
    # alignment) and unrestricted Damerau-Levenshtein distances agree, so
    # DuckDB's and jellyfish's implementations cannot differ.
    assert distance == 1, "only distance 1 is implementation-independent"

    def test(left: Person, right: Person) -> bool:
        a, b = getattr(left, col), getattr(right, col)
        return a is not None and b is not None and (
            jellyfish.damerau_levenshtein_distance(a, b) <= distance)
    return Level(f"damerau-levenshtein <= {distance}",
                 f'damerau_levenshtein("{col}_l", "{col}_r") <= {distance}', test)


def _jw(a: str | None, b: str | None, threshold: float) -> bool:
    return a is not None and b is not None and jellyfish.jaro_winkler_similarity(a, b) >= threshold


_SWAP_JW = 0.88

# A swap is scored once, in the family-name comparison. The given-name
# comparison has the level too, so that a swap does not fall to its "else"
# level, but training holds it neutral (m = u, weight 0): were it scored in both,
# the same evidence would count twice and a swap would outscore an exact match.
# The swapped names may themselves carry a typo ("delcay erin" for Erin Delacy),
# so each crossing is compared by Jaro-Winkler (1.0 for an exact crossing).
# The given names must not also agree straight: for "Mark Marx" against
# "Mark Marks" (a given name like the family name) the family comparison's own
# levels are the evidence, not a swap. (Both crossings known means both given
# names are, so the last condition is never NULL.)
_SWAPPED = Level(
    "given and family swapped",
    f'jaro_winkler_similarity("given_name_l", "family_name_r") >= {_SWAP_JW} '
    f'AND jaro_winkler_similarity("family_name_l", "given_name_r") >= {_SWAP_JW} '
    f'AND jaro_winkler_similarity("given_name_l", "given_name_r") < {_SWAP_JW}',
    lambda a, b: _jw(a.given_name, b.family_name, _SWAP_JW)
    and _jw(a.family_name, b.given_name, _SWAP_JW)
    and not _jw(a.given_name, b.given_name, _SWAP_JW))

# Half a swap: the request's given name is the register's family name (or the
# other way round) and the other name disagrees. Each comparison scores its own
# half; a whole swap is caught by the level above first.
_CROSSED_JW = 0.92
_GIVEN_CROSSED = Level(
    "given name is the family name",
    f'jaro_winkler_similarity("given_name_l", "family_name_r") >= {_CROSSED_JW}',
    lambda a, b: _jw(a.given_name, b.family_name, _CROSSED_JW))
_FAMILY_CROSSED = Level(
    "family name is the given name",
    f'jaro_winkler_similarity("family_name_l", "given_name_r") >= {_CROSSED_JW}',
    lambda a, b: _jw(a.family_name, b.given_name, _CROSSED_JW))

_NICKNAME = Level(
    "nickname",
    'len(list_intersect("given_nicks_l", "given_nicks_r")) >= 1',
    lambda a, b: a.given_nicks is not None and b.given_nicks is not None
    and not set(a.given_nicks).isdisjoint(b.given_nicks))

ELSE_LABEL = "else"
_ELSE = Level(ELSE_LABEL, "ELSE", lambda a, b: True)


def _dob_fields_equal(left: Person, right: Person) -> int:
    return (_eq(left.birth_year, right.birth_year) + _eq(left.birth_month, right.birth_month)
            + _eq(left.birth_day, right.birth_day))


GIVEN = Comparison("given_name", "Given name", (
    _null_level("given_name"), _exact("given_name", tf=True), _SWAPPED, _NICKNAME,
    _damerau("given_name", 1), _jaro_winkler("given_name", 0.92),
    _jaro_winkler("given_name", 0.8), _GIVEN_CROSSED, _ELSE))

FAMILY = Comparison("family_name", "Family name", (
    _null_level("family_name"), _exact("family_name", tf=True), _SWAPPED,
    _damerau("family_name", 1), _jaro_winkler("family_name", 0.92),
    _jaro_winkler("family_name", 0.8), _FAMILY_CROSSED, _ELSE))

BIRTH_DATE = Comparison("birth_date", "Date of birth", (
    _null_level("birth_date"), _exact("birth_date"),
    Level("day and month transposed",
          '"birth_year_l" = "birth_year_r" AND "birth_month_l" = "birth_day_r" '
          'AND "birth_day_l" = "birth_month_r"',
          lambda a, b: _eq(a.birth_year, b.birth_year) and _eq(a.birth_month, b.birth_day)
          and _eq(a.birth_day, b.birth_month)),
    # One digit mistyped, or two adjacent digits transposed (1952 for 1925).
    _damerau("birth_date", 1),
    Level("one field wrong",
          'CAST("birth_year_l" = "birth_year_r" AS INTEGER) + CAST("birth_month_l" = '
          '"birth_month_r" AS INTEGER) + CAST("birth_day_l" = "birth_day_r" AS INTEGER) = 2',
          lambda a, b: _dob_fields_equal(a, b) == 2),
    _ELSE))

# Levenshtein 1 before Damerau-Levenshtein 1: the second level holds only
# adjacent transpositions (4305 for 4350), much rarer among random pairs than
# one changed character.
POSTCODE = Comparison("postcode", "Postcode (any known address)", (
    _null_level("postcode"), _exact("postcode", "full postcode", tf=True),
    _exact("postcode_sector", "sector"), _exact("postcode_district", "district"),
    _levenshtein("postcode", 1), _damerau("postcode", 1), _ELSE))

SEX = Comparison("sex", "Sex", (_null_level("sex"), _exact("sex"), _ELSE))

COMPARISONS: tuple[Comparison, ...] = (GIVEN, FAMILY, BIRTH_DATE, POSTCODE, SEX)
COMPARISON_OF: dict[str, Comparison] = {c.name: c for c in COMPARISONS}

#: A given name that is only the other's initial ("J" for John) falls to the model's
#: ``else`` level but does not contradict it (the release rule's contradictions).
INITIAL_OF = Level(
    "one given name is the other's initial",
    'left("given_name_l", 1) = left("given_name_r", 1) '
    'AND least(length("given_name_l"), length("given_name_r")) = 1',
    lambda a, b: a.given_name is not None and b.given_name is not None
    and a.given_name[:1] == b.given_name[:1] and min(len(a.given_name), len(b.given_name)) == 1)
#: What stops a comparison's ``else`` level contradicting, per comparison.
NOT_CONTRADICTING: dict[str, Level] = {"given_name": INITIAL_OF}

#: Each comparison's level of exact agreement: the first after its null level. The
#: release rule counts these as corroboration (real time by the level's label, batch
#: by its SQL).
AGREEMENT: dict[str, Level] = {c.name: c.levels[1] for c in COMPARISONS}
assert all(c.levels[0].is_null for c in COMPARISONS)

# The columns every record must carry for the model (Splink input columns).
MODEL_COLUMNS = ("given_name", "family_name", "given_nicks", "birth_date", "birth_year",
                 "birth_month", "birth_day", "postcode", "postcode_sector",
                 "postcode_district", "sex")
