"""Which requests carry enough to trace (issue 11): a name, and a date of birth or a
postcode besides it; anything else may be missing."""

from __future__ import annotations

from itertools import combinations

import pytest

from caldicott.matching.core.identifiers import FIELDS, why_untraceable
from caldicott.matching.core.index import MemoryIndex
from caldicott.matching.core.normalise import normalise_person

EVERY_SUBSET = [frozenset(c) for n in range(len(FIELDS) + 1) for c in combinations(FIELDS, n)]


def _traceable(present: frozenset[str]) -> bool:
    return bool(present & {"given_name", "family_name"}) and bool(
        present & {"birth_date", "postcode"})


@pytest.mark.parametrize("present", EVERY_SUBSET, ids=lambda s: "+".join(sorted(s)) or "none")
def test_refuses_only_no_name_or_nothing_but_a_name(present: frozenset[str]) -> None:
    why = why_untraceable(present)
    assert (why is None) == _traceable(present)
    if why is not None:
        missing = why.split("(missing: ")[1]
        assert "given name" in missing or "family name" in missing or "date of birth" in missing
        assert ("no name" in why) == (not present & {"given_name", "family_name"})


VALUES = {"given_name": "Idris", "family_name": "Pemberton", "birth_date": "1971-04-09",
          "postcode": "LS6 2QT", "sex": "male"}


@pytest.mark.parametrize("present", [s for s in EVERY_SUBSET if _traceable(s)],
                         ids=lambda s: "+".join(sorted(s)))
def test_every_traceable_request_finds_its_person_by_some_blocking_rule(
        present: frozenset[str]) -> None:
    person = normalise_person("r1", *VALUES.values(), nhs_number="9990000018")
    others = [normalise_person(f"r{i}", "Ann", "Lee", f"19{50 + i}-01-02", "M1 1AA", "female",
                               nhs_number=f"99900000{i:02d}") for i in range(2, 9)]
    index = MemoryIndex([person, *others])
    request = normalise_person("q", *(VALUES[f] if f in present else None for f in FIELDS))
    assert [c.nhs_number for c in index.candidates(request)] == ["9990000018"]
