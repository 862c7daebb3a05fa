"""Tracing one request against its candidates, in process.

Candidates come from the blocking index (the caller's job); this module scores
each with the model, keeps each person's best row, applies the release rule
and keeps the waterfall of the best candidate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from caldicott.matching.core.normalise import Person
from caldicott.matching.core.release import (
    Outcome,
    Ranked,
    ReleaseRule,
    best_per_person,
    decide,
    margin_of,
)
from caldicott.matching.core.scorer import Score, Scorer


@dataclass(frozen=True)
class Candidate:
    nhs_number: str
    score: Score


@dataclass(frozen=True)
class TraceResult:
    """The outcome of one trace, with the evidence behind it.

    ``nhs_number`` is set only when ``outcome`` is ``traced``; ``best`` is the
    top candidate's score (its ``parts`` are the waterfall) whatever the outcome.
    """

    outcome: Outcome
    nhs_number: str | None
    match_probability: float | None
    match_weight: float | None
    margin: float
    model_version: int
    best: Candidate | None
    candidates: tuple[Candidate, ...] = field(default=())


def trace(request: Person, rows: Iterable[Person], scorer: Scorer, rule: ReleaseRule,
          model_version: int) -> TraceResult:
    """Score ``rows`` (register rows, each with an NHS number) and decide.

    Example:
        >>> rows = index.candidates(request)                       # doctest: +SKIP
        >>> trace(request, rows, scorer, ReleaseRule(), 3).outcome  # doctest: +SKIP
        <Outcome.TRACED: 'traced'>
    """
    best_rows: dict[str, Candidate] = {}
    for row in rows:
        assert row.nhs_number is not None, "register rows carry an NHS number"
        score = scorer.score(request, row)
        held = best_rows.get(row.nhs_number)
        if held is None or score.match_weight > held.score.match_weight:
            best_rows[row.nhs_number] = Candidate(row.nhs_number, score)
    ranked = best_per_person(Ranked(c.nhs_number, c.score.match_weight,
                                    c.score.match_probability) for c in best_rows.values())
    ordered = tuple(best_rows[r.nhs_number] for r in ranked)
    outcome = decide(ranked, rule)
    top = ordered[0] if ordered else None
    return TraceResult(
        outcome=outcome,
        nhs_number=top.nhs_number if top and outcome is Outcome.TRACED else None,
        match_probability=top.score.match_probability if top else None,
        match_weight=top.score.match_weight if top else None,
        margin=margin_of(ranked), model_version=model_version, best=top, candidates=ordered)
