"""The release rule: when a trace may name a person.

A wrong person's address is the worst thing caldicott can release, a missed
trace the second worst. The model scores each (request, person) pair on its
own, so two people can each score above the threshold: a namesake with the
same name and date of birth at another address scores high, and so does the
person the request is for. At most one of them is the person asked for, so the
candidates compete: the probability that the leader is the person, given that
at most one candidate is (each pair's odds are ``2^match_weight``), is

    p_lead = 2^w1 / (1 + 2^w1 + 2^w2 + ...)

A trace is ``traced`` only when ``p_lead`` is at or above the release
threshold *and* the leader leads the runner-up by a clear margin in match
weight (with the default 6 bits, 64 times likelier). Two close candidates
can never both pass (their ``p_lead`` sum to at most 1). A leader that
scores above the threshold on its own but fails either test is
``too_many_matches``; nobody above the threshold is ``no_trace``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_THRESHOLD = 0.99
DEFAULT_MARGIN_BITS = 6.0


class Outcome(StrEnum):
    TRACED = "traced"
    NO_TRACE = "no_trace"
    TOO_MANY_MATCHES = "too_many_matches"


@dataclass(frozen=True, slots=True)
class ReleaseRule:
    threshold: float = DEFAULT_THRESHOLD
    margin_bits: float = DEFAULT_MARGIN_BITS

    def __post_init__(self) -> None:
        if not 0.5 <= self.threshold < 1.0:
            raise ValueError("release threshold must be in [0.5, 1)")
        if self.margin_bits < 0:
            raise ValueError("margin must not be negative")


@dataclass(frozen=True, slots=True)
class Ranked:
    """One person's best score (a person may have several register rows)."""

    nhs_number: str
    match_weight: float
    match_probability: float


def best_per_person(scores: Iterable[Ranked]) -> list[Ranked]:
    """Keep each person's best row, best person first (ties by NHS number).

    Example:
        >>> best_per_person([Ranked("1", 2.0, .8), Ranked("1", 5.0, .97), Ranked("2", 1.0, .7)])[0]
        Ranked(nhs_number='1', match_weight=5.0, match_probability=0.97)
    """
    best: dict[str, Ranked] = {}
    for score in scores:
        held = best.get(score.nhs_number)
        if held is None or score.match_weight > held.match_weight:
            best[score.nhs_number] = score
    return sorted(best.values(), key=lambda r: (-r.match_weight, r.nhs_number))


def margin_of(ranked: list[Ranked]) -> float:
    """Match-weight bits between the best and the runner-up (inf if alone, nan if none)."""
    if not ranked:
        return math.nan
    if len(ranked) == 1:
        return math.inf
    return ranked[0].match_weight - ranked[1].match_weight


def lead_probability(ranked: list[Ranked]) -> float:
    """The probability that the leader is the person, the candidates competing.

    Example:
        >>> round(lead_probability([Ranked("1", 20.0, .999999), Ranked("2", 10.0, .999)]), 6)
        0.999023
    """
    if not ranked:
        return 0.0
    top = ranked[0].match_weight
    # Divide through by 2^top so that nothing overflows.
    rest = sum(math.pow(2.0, r.match_weight - top) for r in ranked[1:])
    return 1.0 / (1.0 + math.pow(2.0, -top) + rest)


def decide(ranked: list[Ranked], rule: ReleaseRule) -> Outcome:
    """Apply the release rule to candidates ranked by :func:`best_per_person`.

    Example:
        >>> rule = ReleaseRule()
        >>> decide([Ranked("1", 20.0, .999999), Ranked("2", 18.0, .99999)], rule)
        <Outcome.TOO_MANY_MATCHES: 'too_many_matches'>
        >>> decide([Ranked("1", 20.0, .999999), Ranked("2", 2.0, .8)], rule)
        <Outcome.TRACED: 'traced'>
    """
    if not ranked or ranked[0].match_probability < rule.threshold:
        return Outcome.NO_TRACE
    if lead_probability(ranked) < rule.threshold or margin_of(ranked) < rule.margin_bits:
        return Outcome.TOO_MANY_MATCHES
    return Outcome.TRACED
