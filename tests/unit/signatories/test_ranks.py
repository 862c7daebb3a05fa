"""Rank ladders and ``meets`` (pure)."""

from __future__ import annotations

import doctest
import itertools

import pytest

from caldicott.signatories.core import procedure, ranks
from caldicott.signatories.core.ranks import UnknownRank, canonical_rank, ladder, meets


@pytest.mark.parametrize("module", [ranks, procedure], ids=lambda m: m.__name__)
def test_docstring_examples_hold(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


def test_a_police_sergeant_does_not_meet_inspector_or_above() -> None:
    assert not meets("police", "sergeant", "inspector")
    assert meets("police", "inspector", "inspector")
    assert meets("police", "Detective Chief Superintendent", "inspector")


def test_the_police_ladder_runs_constable_to_chief_constable() -> None:
    rungs = ladder("police")
    assert rungs[0] == "constable" and rungs[-1] == "chief constable"
    assert all(meets("police", higher, lower)
               for lower, higher in itertools.pairwise(rungs))
    assert not any(meets("police", lower, higher)
                   for lower, higher in itertools.pairwise(rungs))


def test_immigration_titles_sit_on_the_civil_service_grades() -> None:
    assert canonical_rank("home_office", "immigration officer") == "EO"
    assert canonical_rank("home_office", "chief immigration officer") == "HEO"
    assert canonical_rank("home_office", "inspector") == "SEO"
    assert meets("home_office", "chief immigration officer", "EO")
    assert not meets("home_office", "immigration officer", "HEO")


def test_nca_grade_1_is_senior_to_grade_6() -> None:
    assert meets("nca", "grade 1", "grade 6")
    assert not meets("nca", "grade 5", "grade 3")


@pytest.mark.parametrize("kind", ["court", "coroner", "ccrc"])
def test_courts_coroners_and_the_ccrc_have_one_authorised_officer_level(kind: str) -> None:
    assert ladder(kind) == ("authorised officer",)
    assert meets(kind, "Authorised Officer", "authorised officer")


def test_an_unknown_rank_names_the_ladder() -> None:
    with pytest.raises(UnknownRank, match=r"unknown rank 'sergeant' for nca; nca ranks: "
                                          r"grade 6 < grade 5"):
        meets("nca", "sergeant", "grade 3")


def test_a_kind_without_a_ladder_is_named() -> None:
    with pytest.raises(UnknownRank, match="organisation kind 'local_authority' has no ladder"):
        meets("local_authority", "EO", "EO")
