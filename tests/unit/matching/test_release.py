from __future__ import annotations

import math

import pytest

from caldicott.matching.core.release import (
    Outcome,
    Ranked,
    ReleaseRule,
    best_per_person,
    decide,
    lead_probability,
    margin_of,
)

RULE = ReleaseRule(threshold=0.99, margin_bits=6)


def test_releases_a_single_candidate_above_the_threshold() -> None:
    assert decide([Ranked("1", 20.0, 0.999999)], RULE) is Outcome.TRACED


def test_refuses_release_when_two_candidates_are_close() -> None:
    ranked = [Ranked("1", 20.0, 0.999999), Ranked("2", 16.0, 0.99998)]
    assert decide(ranked, RULE) is Outcome.TOO_MANY_MATCHES


def test_refuses_release_when_the_runner_up_is_within_the_margin_below_threshold() -> None:
    ranked = [Ranked("1", 8.0, 0.995), Ranked("2", 3.0, 0.89)]
    assert decide(ranked, RULE) is Outcome.TOO_MANY_MATCHES


def test_releases_when_the_runner_up_is_far_behind_even_above_the_threshold() -> None:
    # A namesake at another address: both pairs score above 0.99 on their own,
    # but the leader is 1,024 times likelier (p_lead = 0.99902).
    ranked = [Ranked("1", 20.0, 0.999999), Ranked("2", 10.0, 0.999)]
    assert decide(ranked, RULE) is Outcome.TRACED
    assert decide(ranked, ReleaseRule(threshold=0.9999, margin_bits=6)) \
        is Outcome.TOO_MANY_MATCHES


def test_many_weak_rivals_together_can_stop_a_release() -> None:
    lone = [Ranked("1", 9.0, 0.998)]
    crowded = lone + [Ranked(str(i), 2.0, 0.8) for i in range(2, 6)]
    assert decide(lone, RULE) is Outcome.TRACED
    assert margin_of(crowded) == 7.0 and lead_probability(crowded) < 0.99
    assert decide(crowded, RULE) is Outcome.TOO_MANY_MATCHES


def test_no_trace_below_the_threshold_or_without_candidates() -> None:
    assert decide([Ranked("1", 2.0, 0.8)], RULE) is Outcome.NO_TRACE
    assert decide([], RULE) is Outcome.NO_TRACE


def test_one_person_with_two_rows_is_one_candidate() -> None:
    ranked = best_per_person([Ranked("1", 20.0, 0.9999), Ranked("1", 19.0, 0.9998)])
    assert len(ranked) == 1 and decide(ranked, RULE) is Outcome.TRACED
    assert margin_of(ranked) == math.inf


@pytest.mark.parametrize("threshold", [0.2, 1.0])
def test_refuses_a_meaningless_threshold(threshold: float) -> None:
    with pytest.raises(ValueError):
        ReleaseRule(threshold=threshold)


# --- fewer fields, more evidence (issue 11) -----------------------------------------

NO_DOB = ("birth_date",)


def test_a_complete_request_meets_exactly_the_old_bar() -> None:
    for missing in ((), ("postcode",), ("sex",), ("postcode", "sex")):
        bar = RULE.bar_for(missing)
        assert (bar.threshold, bar.margin_bits, bar.corroboration) == (0.99, 6.0, 0), missing


@pytest.mark.parametrize(("missing", "threshold", "margin", "corroboration"), [
    (("given_name",), 0.999, 10.0, 0),
    (("birth_date",), 0.999, 10.0, 2),
    (("family_name",), 0.999, 10.0, 2),
    (("birth_date", "sex"), 0.999, 10.0, 2),
    (("given_name", "birth_date"), 0.9999, 14.0, 2),
    (("family_name", "birth_date"), 0.9999, 14.0, 2),
])
def test_each_missing_identifying_field_raises_the_bar_one_step(
        missing: tuple[str, ...], threshold: float, margin: float, corroboration: int) -> None:
    bar = RULE.bar_for(missing)
    assert (bar.threshold, bar.margin_bits, bar.corroboration) == (
        threshold, margin, corroboration)


def test_fewer_fields_never_lower_the_bar() -> None:
    from itertools import combinations

    from caldicott.matching.core.identifiers import FIELDS

    subsets = [frozenset(c) for n in range(len(FIELDS) + 1) for c in combinations(FIELDS, n)]
    for fewer in subsets:
        for more in subsets:
            if more <= fewer:  # ``fewer`` lacks every field ``more`` lacks, and maybe others
                low, high = RULE.bar_for(more), RULE.bar_for(fewer)
                assert high.threshold >= low.threshold, (fewer, more)
                assert high.margin_bits >= low.margin_bits, (fewer, more)
                assert high.corroboration >= low.corroboration, (fewer, more)


def test_a_lone_candidate_the_old_rule_releases_is_not_released_without_a_date_of_birth() -> None:
    lone = [Ranked("1", 8.0, 0.996, frozenset({"postcode", "sex"}))]
    assert decide(lone, RULE) is Outcome.TRACED
    assert decide(lone, RULE, NO_DOB) is Outcome.NO_TRACE


def test_without_a_date_of_birth_two_exact_agreements_beyond_the_name_are_needed() -> None:
    def leader(agreeing: set[str]) -> list[Ranked]:
        return [Ranked("1", 16.0, 0.99998, frozenset(agreeing))]

    assert decide(leader({"postcode", "sex"}), RULE, NO_DOB) is Outcome.TRACED
    assert decide(leader({"postcode"}), RULE, NO_DOB) is Outcome.NO_TRACE
    assert decide(leader({"sex"}), RULE, NO_DOB) is Outcome.NO_TRACE
    # The date of birth cannot corroborate a request that lacks it; it can one that
    # lacks the family name.
    assert decide(leader({"birth_date", "postcode"}), RULE, ("family_name",)) is Outcome.TRACED
    assert decide(leader({"birth_date"}), RULE, ("family_name",)) is Outcome.NO_TRACE
    # A complete request needs no corroboration: its bar is the old one.
    assert decide(leader(set()), RULE) is Outcome.TRACED


def test_without_a_date_of_birth_the_leader_needs_a_wider_margin() -> None:
    both = frozenset({"postcode", "sex"})
    ranked = [Ranked("1", 20.0, 0.999999, both), Ranked("2", 12.0, 0.9998, both)]
    assert decide(ranked, RULE) is Outcome.TRACED  # 8 bits ahead: enough with every field
    assert decide(ranked, RULE, NO_DOB) is Outcome.TOO_MANY_MATCHES  # 10 are needed


def test_the_explanation_says_which_fields_were_missing_and_how_the_bar_rose() -> None:
    bar = RULE.bar_for(NO_DOB)
    text = bar.explain({"postcode"})
    assert text.startswith("no date of birth given: threshold raised from 0.99 to 0.999 and "
                           "margin from 6 to 10 bits; a release needs at least 2 of "
                           "date of birth, postcode, sex to agree exactly beyond the name")
    assert text.endswith("(the best candidate agreed on postcode)")
    stored = bar.as_json({"postcode"})
    assert (stored["missing"], stored["corroborated_by"]) == (["date of birth"], ["postcode"])
    assert RULE.bar_for(("sex",)).explain().startswith("no sex given (no evidence either way)")
    assert RULE.bar_for().explain() == "every field given: threshold 0.99, margin 6 bits"


def test_a_rule_cannot_be_made_to_lower_the_bar_for_a_missing_field() -> None:
    with pytest.raises(ValueError, match="only raise"):
        ReleaseRule(step_margin_bits=-1)


# Contradictions (issue 11): a namesake or a twin of somebody not on the register.

def _leader(contradicting: set[str], weight: float = 30.0) -> Ranked:
    return Ranked("1", weight, 1.0 - 2.0 ** -weight, frozenset({"birth_date", "sex"}),
                  frozenset(contradicting))


@pytest.mark.parametrize("field", ["postcode", "given_name"])
def test_a_leader_the_request_contradicts_is_never_released(field: str) -> None:
    # A namesake elsewhere (every address unlike the request's) or a twin (another
    # given name): far above any threshold, alone, and still not the person asked for.
    assert decide([_leader(set())], RULE) is Outcome.TRACED
    assert decide([_leader({field})], RULE) is Outcome.NO_TRACE
    assert decide([_leader({field}, weight=60.0)], RULE, ("sex",)) is Outcome.NO_TRACE


def test_a_rule_may_hold_fewer_contradictions_decisive_but_no_others() -> None:
    lenient = ReleaseRule(contradicting=frozenset({"postcode"}))
    assert decide([_leader({"given_name"})], lenient) is Outcome.TRACED
    assert decide([_leader({"postcode"})], lenient) is Outcome.NO_TRACE
    with pytest.raises(ValueError, match="can contradict"):
        ReleaseRule(contradicting=frozenset({"sex"}))


def test_an_address_is_contradicted_only_when_every_row_of_the_person_contradicts_it() -> None:
    # A mover: the current address is unlike the request's, a previous one agrees.
    current = Ranked("1", 30.0, 0.999999999, frozenset(), frozenset({"postcode"}))
    previous = Ranked("1", 28.0, 0.99999999, frozenset(), frozenset())
    for rows in ([current, previous], [previous, current]):
        (person,) = best_per_person(rows)
        assert person.match_weight == 30.0 and person.contradicting == frozenset()
        assert decide([person], RULE) is Outcome.TRACED
    (elsewhere,) = best_per_person([current, current])
    assert decide([elsewhere], RULE) is Outcome.NO_TRACE


def test_the_explanation_names_the_contradiction() -> None:
    bar = RULE.bar_for()
    assert bar.explain(None, {"postcode"}).endswith(
        "the best candidate's postcode contradicts the request's on every register row "
        "(never released)")
    assert bar.as_json(None, {"given_name"})["contradicted_by"] == ["given name"]
    assert RULE.bar_for(("birth_date",)).explain({"postcode"}, ()).endswith("postcode)")
