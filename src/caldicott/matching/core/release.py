"""The release rule: when a trace may name a person.

A wrong person's address is the worst thing caldicott can release, a missed
trace the second worst. So a trace is ``traced`` only when exactly one person
scores at or above the release threshold *and* leads the runner-up by a clear
margin in match weight (log2 of the likelihood ratio): with the default 6
bits the best candidate must be at least 64 times likelier than the next.
Two or more people over the threshold, or a leader without the margin, is
``too_many_matches``; nobody over the threshold is ``no_trace``.
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
    if len(ranked) > 1 and (ranked[1].match_probability >= rule.threshold
                            or margin_of(ranked) < rule.margin_bits):
        return Outcome.TOO_MANY_MATCHES
    return Outcome.TRACED
