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
