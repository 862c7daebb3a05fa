"""Splink's documented approach on an accuracy set, and score parity with Splink.

The documented approach is Splink's tutorial setup: library comparisons on the
four fields (given name, surname, date of birth, postcode), the prior from
deterministic rules, u by random sampling, m by EM, then
``linker.inference.predict`` and a threshold: every pair at or above it is a
link. It sees every request (it has no intake), so its figures are over the
same requests as caldicott's.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import pandas as pd

from caldicott.matching.core.index import MemoryIndex
from caldicott.matching.core.normalise import Person
from caldicott.matching.core.scorer import Scorer
from caldicott.matching.splink_scoring import score_pairs

THRESHOLDS = (0.99, 0.9, 0.5)


def _frame(people: list[Person], persons: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": [p.record_id for p in people], "person": persons,
                         "given_name": [p.given_name for p in people],
                         "surname": [p.family_name for p in people],
                         "dob": [p.birth_date for p in people],
                         "postcode": [p.postcode for p in people]})


def _linker(requests: pd.DataFrame, register: pd.DataFrame, uk_postcodes: bool,
            seed: int) -> Any:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    postcode = (cl.PostcodeComparison("postcode") if uk_postcodes
                else cl.ExactMatch("postcode").configure(term_frequency_adjustments=True))
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[cl.NameComparison("given_name"), cl.NameComparison("surname"),
                     cl.DateOfBirthComparison("dob", input_is_string=True), postcode],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"), block_on("dob"), block_on("postcode"),
            block_on("surname", "substr(dob, 1, 4)")],
        retain_intermediate_calculation_columns=False)
    db_api = DuckDBAPI()
    left = db_api.register(requests.drop(columns="person"), dataset_display_name="requests")
    right = db_api.register(register.drop(columns="person"), dataset_display_name="register")
    linker = Linker([left, right], settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    return linker


def splink_documented(register: list[Person], requests: list[Person],
                      truth: dict[str, str | None], uk_postcodes: bool,
                      seed: int) -> dict[str, Any]:
    """Links at each threshold: wrong ones, those for absent people, precision, recall."""
    started = time.perf_counter()
    left = _frame(requests, [truth[r.record_id] for r in requests])
    right = _frame(register, [p.nhs_number for p in register])
    linker = _linker(left, right, uk_postcodes, seed)
    pairs = linker.inference.predict(threshold_match_probability=min(THRESHOLDS))
    pairs = pairs.as_pandas_dataframe()
    person_of = dict(zip(right["unique_id"], right["person"], strict=True))
    present = sum(1 for r in requests if truth[r.record_id] is not None)
    out: dict[str, Any] = {"seconds": round(time.perf_counter() - started, 1)}
    for threshold in THRESHOLDS:
        chosen = pairs[pairs.match_probability >= threshold]
        links = [(q, r) if side == "requests" else (r, q) for q, r, side in zip(
            chosen.unique_id_l, chosen.unique_id_r, chosen.source_dataset_l, strict=True)]
        right_links = {q for q, r in links if truth[q] is not None and truth[q] == person_of[r]}
        wrong = [(q, r) for q, r in links if truth[q] is None or truth[q] != person_of[r]]
        absent = {q for q, _ in wrong if truth[q] is None}
        out[f"p>={threshold}"] = {
            "links": len(links), "wrong_links": len(wrong),
            "requests_with_a_wrong_link": len({q for q, _ in wrong}),
            "absent_people_released": len(absent),
            "precision": (len(links) - len(wrong)) / len(links) if links else None,
            "recall": len(right_links) / present if present else None}
    return out


def parity(model: dict[str, Any], register: list[Person], requests: list[Person],
           truth: dict[str, str | None], tf: dict[str, dict[str, float]], n: int,
           seed: int) -> dict[str, Any]:
    """Largest |p_ours - p_splink| over n pairs: a third true pairs, a third
    blocked candidates, a third random."""
    rng = random.Random(seed)
    by_person = {p.nhs_number: p for p in register}
    index = MemoryIndex(register)
    pairs: list[tuple[Person, Person]] = []
    while len(pairs) < n:
        request = rng.choice(requests)
        kind, true = len(pairs) % 3, truth[request.record_id]
        if kind == 0 and true in by_person:
            pairs.append((request, by_person[true]))
        elif kind == 1 and (cands := index.candidates(request)):
            pairs.append((request, rng.choice(cands)))
        else:
            pairs.append((request, rng.choice(register)))
    scorer = Scorer(model)
    started = time.perf_counter()
    theirs = score_pairs(model, pairs, tf)
    splink_seconds = time.perf_counter() - started
    started = time.perf_counter()
    mine = [scorer.score(a, b).match_probability for a, b in pairs]
    ours_seconds = time.perf_counter() - started
    diffs = [abs(a - b) for a, b in zip(mine, theirs, strict=True)]
    return {"pairs": n, "max_abs_diff": max(diffs), "target": 1e-9,
            "pairs_with_p_between_0.01_and_0.99": sum(0.01 < p < 0.99 for p in theirs),
            "splink_seconds": splink_seconds, "ours_seconds": ours_seconds}
