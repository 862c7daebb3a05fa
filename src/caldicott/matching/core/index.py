"""The blocking rules as lookups: which register rows a request is compared with.

A request meets a register row when they share any of these keys (computed by
:func:`normalise_person`):

- soundex(family) + date of birth, and soundex(given) + date of birth;
- the same two crossed over, for a given/family swap;
- full postcode + year of birth (a wrong or missing name);
- soundex(family) + soundex(given) + year of birth (a wrong day or month);
- soundex(family) + full postcode, soundex(given) + full postcode (a wrong
  or missing date of birth);
- soundex(family) + soundex(given) + postcode district, or the first two
  characters of a postcode of another shape (a wrong year, or a wrong or
  missing date of birth with a postcode typo).

A request also looks up its postcode keys under each transposition of two
adjacent characters of its postcode (``4305`` for ``4350``): the register
stores one value per key, the request asks for a few.

The database index (``repository.candidate_rows``) and Splink's batch rules
(``training.PREDICTION_BLOCKING_RULES``) say the same thing, so batch and
real-time traces see the same candidates. :class:`MemoryIndex` is the
in-process form used by the benchmarks and tests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from caldicott.matching.core.normalise import (
    BLOCKING_KEYS,
    Person,
    swapped_keys,
    transposed_postcode_keys,
    typo_name_keys,
)


def lookups(request: Person) -> list[tuple[str, str]]:
    """(register key column, value) pairs to look up for a request.

    Example:
        >>> from caldicott.matching.core.normalise import normalise_person
        >>> sorted(lookups(normalise_person("q", "Ann", "Lee", "1990-01-02")))[0]
        ('k_family_dob', 'A500|1990-01-02')
    """
    wanted = {(column, getattr(request, column)) for column in BLOCKING_KEYS}
    wanted |= set(swapped_keys(request).items())
    wanted |= set(transposed_postcode_keys(request))
    wanted |= set(typo_name_keys(request))
    return sorted((c, v) for c, v in wanted if v is not None)


class MemoryIndex:
    """Register rows held in dictionaries, one per blocking key."""

    def __init__(self, rows: Iterable[Person]) -> None:
        self._by_key: dict[str, dict[str, list[Person]]] = {k: defaultdict(list)
                                                           for k in BLOCKING_KEYS}
        for row in rows:
            for column in BLOCKING_KEYS:
                value = getattr(row, column)
                if value is not None:
                    self._by_key[column][value].append(row)

    def candidates(self, request: Person) -> list[Person]:
        """Every register row sharing a key with the request, once each."""
        seen: dict[str, Person] = {}
        for column, value in lookups(request):
            for row in self._by_key[column].get(value, ()):
                seen.setdefault(row.record_id, row)
        return list(seen.values())
