from __future__ import annotations

import json
import math
import random

import pytest

from caldicott.matching.core.normalise import Person, normalise_person, with_term_frequencies
from caldicott.matching.core.scorer import ModelMismatch, Scorer, probability_from_weight
from caldicott.matching.frames import term_frequencies
from caldicott.matching.handmade import handmade_model

REGISTER = [
    ("Ann", "Lee", "1990-01-02", "LS1 4AP", "female"),
    ("William", "Smith", "1985-05-06", "M1 1AA", "male"),
    ("Mohammed", "Khan", "1970-12-11", "B1 2CD", "male"),
    ("Ann", "Smith", "1990-02-01", "LS1 4AQ", "female"),
]


def _people() -> list[Person]:
    rows = [normalise_person(str(i), *r, nhs_number=f"n{i}") for i, r in enumerate(REGISTER)]
    tf = term_frequencies(rows)
    return [with_term_frequencies(p, tf) for p in rows]


def test_weights_add_up_to_the_match_weight() -> None:
    scorer = Scorer(handmade_model())
    ann = _people()[0]
    score = scorer.score(normalise_person("q", "Ann", "Lee", "1990-01-02", "LS1 4AP"), ann)
    total = score.prior_weight + sum(p.total for p in score.parts)
    assert score.match_weight == pytest.approx(total, abs=1e-12)
    assert score.match_probability == probability_from_weight(score.match_weight)
    assert [p.level for p in score.parts][:4] == ["exact", "exact", "exact", "full postcode"]


def test_a_common_name_weighs_less_than_a_rare_one() -> None:
    scorer = Scorer(handmade_model())
    people = _people()
    ann = scorer.score(normalise_person("q", "Ann", "X", None), people[0]).parts[0]
    khan = scorer.score(normalise_person("q", "Mohammed", "X", None), people[2]).parts[0]
    assert ann.tf_adjustment < khan.tf_adjustment


def test_day_and_month_transposed_has_its_own_level() -> None:
    scorer = Scorer(handmade_model())
    score = scorer.score(normalise_person("q", "Ann", "Lee", "1990-02-01"), _people()[0])
    assert score.parts[2].level == "day and month transposed"


def test_refuses_a_model_of_other_comparisons() -> None:
    model = handmade_model()
    model["comparisons"][0]["comparison_levels"][1]["sql_condition"] = "1=1"
    with pytest.raises(ModelMismatch):
        Scorer(model)


def test_probability_is_stable_at_extreme_weights() -> None:
    assert probability_from_weight(-3000.0) == 0.0
    assert probability_from_weight(3000.0) == 1.0


def test_matches_splink_on_pairs_of_every_kind() -> None:
    from caldicott.matching.splink_scoring import score_pairs

    people = _people()
    tf = term_frequencies(people)
    rng = random.Random(3)
    requests = [normalise_person("q1", "Bill", "Smith", "1985-06-05", "M1 1AB"),
                normalise_person("q2", "Lee", "Ann", "1990-01-02", None, "female"),
                normalise_person("q3", "Anne", "Lea", "1991-01-02", "LS1 4ZZ"),
                normalise_person("q4", None, "Khan", "1970-11-12", "B1 2CD")]
    pairs = [(with_term_frequencies(q, tf), rng.choice(people)) for q in requests * 5]
    pairs += [(q, p) for q in requests for p in people]
    model = handmade_model(prior=1e-3)
    theirs = score_pairs(model, pairs, tf)
    ours = [Scorer(json.loads(json.dumps(model))).score(a, b).match_probability
            for a, b in pairs]
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) <= 1e-9
    assert any(0.01 < p < 0.99 for p in theirs) and not any(math.isnan(p) for p in ours)


@pytest.mark.parametrize(("request_fields", "comparison", "level"), [
    (("Ann", "Lee", "1990-01-02", "LS1 4AP"), 0, "exact"),
    (("Lees", "Anne", "1990-01-02", "LS1 4AP"), 1, "given and family swapped"),
    (("Lee", "Xavier", "1990-01-02", "LS1 4AP"), 0, "given name is the family name"),
    (("Aan", "Lee", "1990-01-02", "LS1 4AP"), 0, "damerau-levenshtein <= 1"),
    (("Ann", "Lee", "1909-01-02", "LS1 4AP"), 2, "damerau-levenshtein <= 1"),
    (("Ann", "Lee", "1990-01-02", "SL1 4AP"), 3, "damerau-levenshtein <= 1"),
    (("Ann", "Lee", "1990-01-02", "LS2 4AP"), 3, "levenshtein <= 1"),
    (("Ann", "Lee", "1990-01-22", "LS1 4AP"), 2, "damerau-levenshtein <= 1"),
    (("Ann", "Lee", "1990-12-02", "LS1 4AP"), 2, "one field wrong"),
])
def test_each_kind_of_error_falls_in_its_level(request_fields: tuple, comparison: int,
                                                level: str) -> None:
    scorer = Scorer(handmade_model())
    score = scorer.score(normalise_person("q", *request_fields), _people()[0])
    assert score.parts[comparison].level == level


def test_a_swap_with_a_typo_outscores_unrelated_names() -> None:
    scorer = Scorer(handmade_model())
    ann = _people()[0]
    swapped = scorer.score(normalise_person("q", "Lees", "Anne", "1990-01-02", "LS1 4AP"), ann)
    unrelated = scorer.score(normalise_person("q", "Zed", "Xu", "1990-01-02", "LS1 4AP"), ann)
    assert swapped.parts[1].level == "given and family swapped"
    assert swapped.match_weight > unrelated.match_weight + 10


def test_new_levels_match_splink_exactly() -> None:
    from caldicott.matching.splink_scoring import score_pairs

    people = _people()
    tf = term_frequencies(people)
    requests = [normalise_person("a", "Lees", "Anne", "1990-01-02", "SL1 4AP"),
                normalise_person("b", "Lee", "Xavier", "1909-01-02", "LS1 4PA"),
                normalise_person("c", "Nan", "Smiht", "1985-05-60", "4350"),
                normalise_person("d", "Wiliam", "Smith", "1958-05-06", "1M 1AA")]
    pairs = [(with_term_frequencies(q, tf), p) for q in requests for p in people]
    model = handmade_model(prior=1e-3)
    theirs = score_pairs(model, pairs, tf)
    ours = [Scorer(model).score(a, b).match_probability for a, b in pairs]
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) <= 1e-9


def test_a_family_name_like_the_given_name_is_not_a_swap() -> None:
    scorer = Scorer(handmade_model())
    register = normalise_person("r", "Mark", "Marks", "1990-01-02", nhs_number="n")
    score = scorer.score(normalise_person("q", "Mark", "Marx", "1990-01-02"), register)
    assert score.parts[1].level == "jaro-winkler >= 0.8"


def test_a_missing_field_carries_no_weight_and_splink_agrees_on_partial_requests() -> None:
    from caldicott.matching.splink_scoring import score_pairs

    people = _people()
    tf = term_frequencies(people)
    requests = [normalise_person("a", "Ann", "Lee", None, "LS1 4AP", "female"),
                normalise_person("b", "Ann", None, "1990-01-02", "LS1 4AP"),
                normalise_person("c", None, "Smith", None, "M1 1AA", "male"),
                normalise_person("d", "William", None, None, "M1 1AB"),
                normalise_person("e", "Lee", None, "1990-01-02", None, "female")]
    pairs = [(with_term_frequencies(q, tf), p) for q in requests for p in people]
    model = handmade_model(prior=1e-3)
    theirs = score_pairs(model, pairs, tf)
    scores = [Scorer(model).score(a, b) for a, b in pairs]
    assert max(abs(s.match_probability - t) for s, t in zip(scores, theirs, strict=True)) <= 1e-9
    for (request, _), score in zip(pairs, scores, strict=True):
        for part in score.parts:
            if getattr(request, part.comparison) is None:
                assert (part.level, part.total) == ("null", 0.0)
