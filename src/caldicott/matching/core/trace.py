"""Tracing one request against its candidates, in process.

Candidates come from the blocking index (the caller's job); this module scores
each with the model, keeps each person's best row, applies the release rule
and keeps the waterfall of the best candidate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from caldicott.matching.core.comparisons import AGREEMENT, ELSE_LABEL, NOT_CONTRADICTING
from caldicott.matching.core.identifiers import missing_of
from caldicott.matching.core.normalise import Person
from caldicott.matching.core.release import (
    CONTRADICTING,
    CORROBORATING,
    Bar,
    Outcome,
    Ranked,
    ReleaseRule,
    best_per_person,
    better,
    decide,
    margin_of,
)
from caldicott.matching.core.scorer import Score, Scorer


def contradictions(request: Person, row: Person, score: Score) -> frozenset[str]:
    """The identifiers on which ``row`` contradicts ``request``: given on both sides and
    alike in no way the model knows (its ``else`` level), unless the comparison's
    exemption holds (:data:`~caldicott.matching.core.comparisons.NOT_CONTRADICTING`)."""
    out = set()
    for part in score.parts:
        if part.comparison in CONTRADICTING and part.level == ELSE_LABEL:
            exempt = NOT_CONTRADICTING.get(part.comparison)
            if exempt is None or not exempt.test(request, row):
                out.add(part.comparison)
    return frozenset(out)


@dataclass(frozen=True)
class Candidate:
    nhs_number: str
    score: Score
    contradicting: frozenset[str] = field(default=frozenset())

    @property
    def agreeing(self) -> frozenset[str]:
        """The identifiers beyond the name on which this row agrees exactly."""
        return frozenset(p.comparison for p in self.score.parts
                         if p.comparison in CORROBORATING
                         and p.level == AGREEMENT[p.comparison].label)

    def ranked(self) -> Ranked:
        return Ranked(self.nhs_number, self.score.match_weight, self.score.match_probability,
                      self.agreeing, self.contradicting)


@dataclass(frozen=True)
class TraceResult:
    """The outcome of one trace, with the evidence behind it.

    ``nhs_number`` is set only when ``outcome`` is ``traced``; ``best`` is the
    top candidate's score (its ``parts`` are the waterfall) whatever the outcome;
    ``bar`` is the rule as raised for the fields the request lacked.
    """

    outcome: Outcome
    nhs_number: str | None
    match_probability: float | None
    match_weight: float | None
    margin: float
    model_version: int
    best: Candidate | None
    candidates: tuple[Candidate, ...] = field(default=())
    bar: Bar = field(default_factory=lambda: ReleaseRule().bar_for())
    #: What the request contradicts of the best candidate on every one of its rows.
    contradicting: frozenset[str] = field(default=frozenset())

    def explain(self) -> str:
        """What the request lacked and how that raised the bar (for the review)."""
        return self.bar.explain(self.best.agreeing if self.best else None, self.contradicting)

    def bar_json(self) -> dict[str, Any]:
        return self.bar.as_json(self.best.agreeing if self.best else None, self.contradicting)


def trace(request: Person, rows: Iterable[Person], scorer: Scorer, rule: ReleaseRule,
          model_version: int) -> TraceResult:
    """Score ``rows`` (register rows, each with an NHS number) and decide.

    Example:
        >>> rows = index.candidates(request)                       # doctest: +SKIP
        >>> trace(request, rows, scorer, ReleaseRule(), 3).outcome  # doctest: +SKIP
        <Outcome.TRACED: 'traced'>
    """
    best_rows: dict[str, Candidate] = {}
    every: list[Ranked] = []
    for row in rows:
        assert row.nhs_number is not None, "register rows carry an NHS number"
        score = scorer.score(request, row)
        candidate = Candidate(row.nhs_number, score, contradictions(request, row, score))
        every.append(candidate.ranked())
        held = best_rows.get(row.nhs_number)
        weight = candidate.score.match_weight
        if held is None or weight > held.score.match_weight or (
                weight == held.score.match_weight and better(candidate.ranked(),
                                                             held.ranked())):
            best_rows[row.nhs_number] = candidate
    ranked = best_per_person(every)
    ordered = tuple(best_rows[r.nhs_number] for r in ranked)
    missing = missing_of(request)
    outcome = decide(ranked, rule, missing)
    top = ordered[0] if ordered else None
    return TraceResult(
        outcome=outcome,
        nhs_number=top.nhs_number if top and outcome is Outcome.TRACED else None,
        match_probability=top.score.match_probability if top else None,
        match_weight=top.score.match_weight if top else None,
        margin=margin_of(ranked), model_version=model_version, best=top, candidates=ordered,
        bar=rule.bar_for(missing),
        contradicting=ranked[0].contradicting if ranked else frozenset())
