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

Fewer fields, more evidence: the bar a request must clear
----------------------------------------------------------
A request may lack any field (see :mod:`~caldicott.matching.core.identifiers`).
A missing field already carries no weight (Splink's null level), so the score
of a partial request is built from less evidence; but the score alone is not
enough, for two reasons. The model's independence assumption errs most where
little evidence is left (one strong agreement then decides everything), and a
missing date of birth or family name is exactly what tells namesakes apart: a
request for someone *not on the register* whose namesake is on it looks, to a
request without a date of birth, like a request for the namesake. So each
request gets its own bar (:meth:`ReleaseRule.bar_for`), never lower than the
rule's own:

1. **Threshold, per missing identifying field** (given name, family name, date
   of birth): the chance of a wrong release the threshold allows is divided by
   ten (``step_decades``): 0.99 → 0.999 → 0.9999. Postcode and sex are often
   not known to a requester and carry less evidence; their absence raises
   nothing by itself (a request of family name and date of birth only, PDS's
   own minimum, keeps the bar it had) but leaves them unable to corroborate.
2. **Margin, per missing identifying field**: the leader must lead the runner-up
   by ``step_margin_bits`` more (6 → 10 → 14 bits: 64, 1,024, 16,384 times
   likelier), because the field that would have split two candidates is gone.
3. **Corroboration, when the date of birth or the family name is missing**: the
   leader's best register row must agree *exactly* with the request on at
   least ``corroboration`` (2) independent identifiers beyond the name — date
   of birth, full postcode, sex — each its own comparison in the model. A
   name is shared by namesakes; two further exact agreements are what a
   namesake who is not the person rarely has. Near agreements (a postcode in
   the same sector, a date one digit off) count as evidence in the score but
   not here: they are what a namesake nearby or a relative has. A leader
   without them is ``no_trace``: nobody was identified well enough to name.

So a request without a date of birth is released only when given name,
family name, full postcode and sex all point at one person (the last two
exactly), with p ≥ 0.999 and a 10-bit lead; without a sex it is never
released.

A contradicted leader is never released
---------------------------------------
The request may be for somebody who is not on the register at all, while a
namesake (same names, sex and birthday, living elsewhere) or a twin (same
family name, birthday and home, another given name) is. Their pairs score far
above any threshold (the synthetic benchmark released 125 namesakes and 56
twins of people held off its register, most at p ≥ 0.999), and no margin helps: the
person asked for is not there to be the runner-up. What tells them apart is
what the request *contradicts*: an identifier given on both sides that falls
to its comparison's ``else`` level, alike in no way the model knows
(:data:`CONTRADICTING`):

- **postcode**: the request's postcode is unlike every address the register
  holds for the person (current and previous, each an index row: a person
  who moved still matches the address the requester knew, as in PDS), not
  the same unit, sector or district, not one character off;
- **given name**: unlike every name the person has had (not exact, swapped,
  a nickname, a typo, Jaro-Winkler ≥ 0.8 or the family name), and not just
  its initial ("J" for John).

A leader contradicted on either, on *every* one of its rows
(:func:`best_per_person` intersects them), is ``no_trace``, whatever its
score. The model's own weight for the disagreement is not enough: trained
on a register where a wholesale-replaced field is common (FEBRL4 replaces
about one given name in twelve) it learns that such a disagreement costs a
few bits, which the name, date of birth and address win back; the release
rule must hold even where the data taught the model otherwise. The cost is
recall where a requester's postcode is newer than anything the register knows,
or a given name is wholly wrong; those go to a reviewer as ``no_trace`` with
the explanation naming the contradiction (FEBRL4: recall 0.909 → 0.832, its
corruption replaces a given name wholesale, a twin's pattern; synthetic: 218
absent people released → 58, recall 0.962 → 0.957). A namesake is still
released when the request gives nothing to contradict (no postcode): then the
request itself cannot tell them apart (55 of the 58), and the threshold and
margin are all there is.

The rule is never looser than before for any request: a complete, uncontradicted
request meets exactly the old bar; ``contradicting`` can only be narrowed to a
subset of :data:`CONTRADICTING` (a rule with none is the old rule).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from caldicott.matching.core.identifiers import FIELDS, WORDS, in_words

DEFAULT_THRESHOLD = 0.99
DEFAULT_MARGIN_BITS = 6.0
#: Each one missing raises the threshold and the margin one step.
IDENTIFYING = ("given_name", "family_name", "birth_date")
#: Either one missing asks for corroboration.
PARTIAL = ("family_name", "birth_date")
#: Identifiers beyond the name that can corroborate, each by exact agreement.
CORROBORATING = ("birth_date", "postcode", "sex")
#: Identifiers that can contradict a candidate: given on both sides and unlike in every
#: way the model knows (its ``else`` level) on every one of the person's register rows.
CONTRADICTING = ("given_name", "postcode")


class Outcome(StrEnum):
    TRACED = "traced"
    NO_TRACE = "no_trace"
    TOO_MANY_MATCHES = "too_many_matches"


@dataclass(frozen=True, slots=True)
class ReleaseRule:
    """The rule for a complete request, and how much it rises per missing field."""

    threshold: float = DEFAULT_THRESHOLD
    margin_bits: float = DEFAULT_MARGIN_BITS
    step_decades: float = 1.0
    step_margin_bits: float = 4.0
    corroboration: int = 2
    contradicting: frozenset[str] = frozenset(CONTRADICTING)

    def __post_init__(self) -> None:
        if not 0.5 <= self.threshold < 1.0:
            raise ValueError("release threshold must be in [0.5, 1)")
        if self.margin_bits < 0:
            raise ValueError("margin must not be negative")
        if self.step_decades < 0 or self.step_margin_bits < 0 or self.corroboration < 0:
            raise ValueError("a missing field can only raise the bar")
        if not self.contradicting <= frozenset(CONTRADICTING):
            raise ValueError(f"only {in_words(CONTRADICTING)} can contradict a candidate")

    def bar_for(self, missing: Collection[str] = ()) -> Bar:
        """The bar a request lacking ``missing`` fields must clear.

        Example:
            >>> bar = ReleaseRule().bar_for({"birth_date"})
            >>> bar.threshold, bar.margin_bits, bar.corroboration
            (0.999, 10.0, 2)
        """
        steps = sum(f in missing for f in IDENTIFYING)
        miss_rate = (1.0 - self.threshold) / 10.0 ** (steps * self.step_decades)
        return Bar(threshold=round(1.0 - miss_rate, 12),
                   margin_bits=self.margin_bits + steps * self.step_margin_bits,
                   corroboration=self.corroboration if any(f in missing for f in PARTIAL)
                   else 0,
                   missing=tuple(f for f in FIELDS if f in missing), base=self)


@dataclass(frozen=True, slots=True)
class Bar:
    """What one request's trace must clear: the rule raised for its missing fields."""

    threshold: float
    margin_bits: float
    corroboration: int
    missing: tuple[str, ...]
    base: ReleaseRule

    @property
    def raised(self) -> bool:
        return self.threshold > self.base.threshold or self.corroboration > 0

    def explain(self, agreeing: Collection[str] | None = None,
                contradicting: Collection[str] = ()) -> str:
        """What was missing and how that raised the bar, in words.

        Example:
            >>> ReleaseRule().bar_for({"birth_date"}).explain({"postcode"})[:80]
            'no date of birth given: threshold raised from 0.99 to 0.999 and margin from 6 to'
        """
        against = set(contradicting) & self.base.contradicting
        tail = (f"; the best candidate's {in_words(against)} contradicts the request's on "
                "every register row (never released)") if against else ""
        if not self.missing:
            return (f"every field given: threshold {self.threshold:g}, margin "
                    f"{self.margin_bits:g} bits{tail}")
        words = f"no {in_words(self.missing)} given"
        if self.threshold > self.base.threshold:
            words += (f": threshold raised from {self.base.threshold:g} to {self.threshold:g} "
                      f"and margin from {self.base.margin_bits:g} to {self.margin_bits:g} bits")
        else:
            words += (f" (no evidence either way): threshold {self.threshold:g}, margin "
                      f"{self.margin_bits:g} bits, as for a complete request")
        if self.corroboration:
            words += (f"; a release needs at least {self.corroboration} of "
                      f"{in_words(CORROBORATING)} to agree exactly beyond the name")
            if agreeing is not None:
                agreed = in_words(set(agreeing) & set(CORROBORATING))
                words += f" (the best candidate agreed on {agreed or 'none'})"
        return words + tail

    def as_json(self, agreeing: Collection[str] | None = None,
                contradicting: Collection[str] = ()) -> dict[str, Any]:
        """The bar as stored beside a trace and shown to a reviewer."""
        return {"missing": [WORDS[f] for f in self.missing], "threshold": self.threshold,
                "margin_bits": self.margin_bits, "base_threshold": self.base.threshold,
                "base_margin_bits": self.base.margin_bits,
                "corroboration_needed": self.corroboration,
                "corroborated_by": [WORDS[f] for f in CORROBORATING
                                    if agreeing is not None and f in agreeing],
                "contradicted_by": [WORDS[f] for f in CONTRADICTING
                                    if f in contradicting and f in self.base.contradicting],
                "explanation": self.explain(agreeing, contradicting)}


@dataclass(frozen=True, slots=True)
class Ranked:
    """One person's best score (a person may have several register rows).

    ``agreeing`` names the corroborating identifiers (:data:`CORROBORATING`) on
    which that row agrees exactly with the request.
    """

    nhs_number: str
    match_weight: float
    match_probability: float
    agreeing: frozenset[str] = field(default=frozenset())
    contradicting: frozenset[str] = field(default=frozenset())


def better(score: Ranked, held: Ranked | None) -> bool:
    """Whether ``score`` is a person's better row than ``held``: a higher weight, or
    as high with more exact agreements (so batch and real time keep the same row)."""
    if held is None or score.match_weight > held.match_weight:
        return True
    return score.match_weight == held.match_weight and (
        (len(score.agreeing), sorted(score.agreeing))
        > (len(held.agreeing), sorted(held.agreeing)))


def best_per_person(scores: Iterable[Ranked]) -> list[Ranked]:
    """Keep each person's best row, best person first (ties by NHS number). A person's
    ``contradicting`` is what *every* one of their rows contradicts: a previous
    address (or name) that agrees is not contradicted by the current one.

    Example:
        >>> best_per_person([Ranked("1", 2.0, .8), Ranked("1", 5.0, .97), Ranked("2", 1.0, .7)])[0]
        Ranked(nhs_number='1', match_weight=5.0, match_probability=0.97, agreeing=frozenset(), \
contradicting=frozenset())
    """
    best: dict[str, Ranked] = {}
    against: dict[str, frozenset[str]] = {}
    for score in scores:
        held = against.get(score.nhs_number)
        against[score.nhs_number] = (score.contradicting if held is None
                                     else held & score.contradicting)
        if better(score, best.get(score.nhs_number)):
            best[score.nhs_number] = score
    people = (replace(r, contradicting=against[r.nhs_number]) for r in best.values())
    return sorted(people, key=lambda r: (-r.match_weight, r.nhs_number))


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


def corroborated(leader: Ranked, bar: Bar) -> bool:
    """Whether the leader agrees exactly on as many identifiers beyond the name as the
    bar needs."""
    return len(leader.agreeing & frozenset(CORROBORATING)) >= bar.corroboration


def contradicted(leader: Ranked, rule: ReleaseRule) -> bool:
    """Whether the request contradicts the leader on an identifier the rule holds
    decisive (:attr:`ReleaseRule.contradicting`), on every one of the leader's rows."""
    return not leader.contradicting.isdisjoint(rule.contradicting)


def decide(ranked: list[Ranked], rule: ReleaseRule, missing: Collection[str] = ()) -> Outcome:
    """Apply the release rule, raised for the request's ``missing`` fields, to
    candidates ranked by :func:`best_per_person`.

    Example:
        >>> rule = ReleaseRule()
        >>> decide([Ranked("1", 20.0, .999999), Ranked("2", 18.0, .99999)], rule)
        <Outcome.TOO_MANY_MATCHES: 'too_many_matches'>
        >>> decide([Ranked("1", 20.0, .999999), Ranked("2", 2.0, .8)], rule)
        <Outcome.TRACED: 'traced'>
        >>> decide([Ranked("1", 20.0, .999999, frozenset({"postcode"}))], rule, {"birth_date"})
        <Outcome.NO_TRACE: 'no_trace'>
    """
    bar = rule.bar_for(missing)
    if not ranked or ranked[0].match_probability < bar.threshold:
        return Outcome.NO_TRACE
    if not corroborated(ranked[0], bar) or contradicted(ranked[0], rule):
        return Outcome.NO_TRACE
    if lead_probability(ranked) < bar.threshold or margin_of(ranked) < bar.margin_bits:
        return Outcome.TOO_MANY_MATCHES
    return Outcome.TRACED
