"""Tracing accuracy, through the service's own path, beside Splink's documented approach.

Sets (see ``_accuracy_sets.py``): FEBRL4, the historical figures with errors,
and a synthetic register (1,000,000 people; 100,000 with ``--quick``) with
20,000 look-ups. In each, people are taken off the register (deterministically
by ``--seed``) until at least ``--absent-share`` (25%) of the requests ask for
somebody who is not on it.

Every request goes the way a request to the service goes, with no rule of its
own here, so a change to intake, blocking, scoring or the release rule shows up
on the next run:

1. intake: the JSON body a requester would send (the fields the request has,
   absent ones left out) is validated as ``requests.schemas.TraceRequestIn``,
   then checked by ``matching.service.check_request`` (as intake and the trace
   step do); a refusal is counted with its reason and the fields it lacked;
2. the trace: ``matching.service.trace_request`` against a SQLite database
   holding the register's blocking index and the model (the service's
   ``candidate_rows`` query, scorer and default release rule).

The model is trained with Splink on the register and the accepted requests as
unlabelled look-ups (the synthetic set: on a 200,000-person sample and 5,000
look-ups, its prior set for the whole register).

Figures per set: requests refused at intake (share, by reason, by missing
fields, and how many had a name and something more: the target is none);
releases; wrong releases (a released person who is not the one asked for: target
0), of which for people not on the register (target 0); precision over all
releases; recall over requests for people on the register (refusals count as
misses; targets FEBRL4 and synthetic >= 0.97). Beside them, in the same run,
Splink's documented approach (``_accuracy_splink.py``) at p >= 0.99, 0.9, 0.5;
and, on FEBRL4, score parity with Splink over 10,000 pairs (1,000 ``--quick``).

``--models DIR`` keeps each trained model (with its pins) as ``DIR/model_SET.json`` and
reuses it on the next run: a change to the release rule alone is then measured without
training again (the JSON names the reused model; keep the folder to one seed and data).

Run: ``python benchmarks/trace_accuracy.py [--quick] [--only SET] [--models DIR]``; writes
``benchmarks/results/trace_accuracy.json`` (``trace_accuracy_quick.json``,
``trace_accuracy_SET.json``). The machine is shared: the JSON records its load
average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import Engine, event

sys.path.insert(0, str(Path(__file__).parent))
from _accuracy_sets import LinkageSet, febrl4, historical, hold_out, synthetic
from _accuracy_splink import parity, splink_documented
from _common import write_results

from caldicott.db import make_engine, unit_of_work
from caldicott.errors import CaldicottError
from caldicott.matching import repository
from caldicott.matching import service as matching
from caldicott.matching.core.normalise import Person, normalise_person
from caldicott.matching.core.scorer import model_hash
from caldicott.matching.frames import people_frame, term_frequencies
from caldicott.matching.training import train
from caldicott.migrations import upgrade
from caldicott.requests.schemas import TraceRequestIn
from caldicott.settings import Settings

#: The rest of a request body: what a requester must say besides who they ask about.
PROCEDURE = {"purpose": "trace_immigration_offender", "category": "overstayer",
             "case_reference": "BENCH-1", "justification": "accuracy benchmark",
             "requesting_officer": "HO-1001", "countersigning_officer": "HO-2001"}
SUBJECT = {"given_name": "given", "family_name": "family", "birth_date": "dob",
           "postcode": "postcode", "sex": "sex"}


@dataclass(frozen=True)
class Refusal:
    reasons: tuple[str, ...]


def _reason(text: str) -> str:
    """A refusal message without the request's own values (so that reasons can be counted)."""
    return re.sub(r"\d{4}-\d{2}-\d{2}|'[^']*'|\d+", "…", text)


def _schema_reason(error: Any) -> str:
    """``field: kind`` of a schema error; a whole-request check (no field) by its message."""
    where = ".".join(map(str, error["loc"])) or "request"
    return f"{where}: {_reason(error['msg']) if error['type'] == 'value_error' else error['type']}"


def intake(row: Any) -> matching.TraceRequest | Refusal:
    """The service's intake of one request: its wire schema, then the matcher's check."""
    body = {**PROCEDURE, **{field: getattr(row, column) for field, column in SUBJECT.items()
                            if getattr(row, column) is not None}}
    try:
        item = TraceRequestIn.model_validate(body)
    except ValidationError as error:
        return Refusal(tuple(sorted({_schema_reason(e) for e in error.errors()})))
    try:
        return matching.check_request(item.given_name, item.family_name, item.birth_date,
                                      item.postcode, item.sex, today=dt.date.today())
    except CaldicottError as error:
        return Refusal((_reason(str(error)),))


def _lacks(row: Any) -> str:
    missing = [f for f, c in SUBJECT.items() if f != "sex" and getattr(row, c) is None]
    return "+".join(missing) or "nothing"


def _beyond_target(row: Any) -> bool:
    """A refusal the target allows: no name at all, or nothing but a name."""
    has_name = row.given is not None or row.family is not None
    return has_name and (row.dob is not None or row.postcode is not None)


def _engine(folder: Path, name: str) -> Engine:
    """A SQLite database of the set. It holds the blocking index and the model, not the
    register's patient rows (a trace reads only those two), so the index's foreign key
    to ``patient`` is not enforced here."""
    path = folder / f"accuracy_{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    settings = Settings(database_url=f"sqlite:///{path}", data_dir=folder)
    engine = make_engine(settings)
    event.listen(engine, "connect", lambda c, _: c.execute("PRAGMA foreign_keys=OFF"))
    upgrade(settings, engine)
    return engine


def _store(engine: Engine, register: list[Person], model_json: str) -> None:
    with unit_of_work(engine) as session:
        repository.replace_index(session, register, tf=term_frequencies(register))
        repository.save_model(session, model_json=model_json, sha256=model_hash(model_json),
                              pins=[], link_type="link_only", trained_on="accuracy benchmark")


def _train(data: LinkageSet, lookups: list[Person], seed: int, u_pairs: float,
           sample: int | None) -> Any:
    register = data.register
    size = None
    if sample and len({p.nhs_number for p in register}) > sample:
        everyone = sorted({p.nhs_number for p in register if p.nhs_number})
        size = len(everyone)
        chosen = set(random.Random(seed).sample(everyone, sample))
        register = [p for p in register if p.nhs_number in chosen]
        lookups = lookups[:5000]
    return train(people_frame(register), people_frame(lookups), seed=seed, max_pairs=u_pairs,
                 register_size=size)


def _model(data: LinkageSet, lookups: list[Person], args: argparse.Namespace
           ) -> tuple[str, Any, str | None]:
    """The set's model JSON and pins: trained, or with ``--models DIR`` the one kept in
    ``DIR/model_SET.json`` by an earlier run (kept there after training when absent), so
    that a change to the release rule alone is measured without training again. Keeping
    the folder in step with the data (set, seed, look-ups) is the caller's part."""
    saved = args.models / f"model_{data.name}.json" if args.models else None
    if saved is not None and saved.exists():
        kept = json.loads(saved.read_text())
        return kept["model_json"], kept["pins"], str(saved)
    trained = _train(data, lookups, args.seed, args.u_pairs,
                     200_000 if data.name == "synthetic" else None)
    if saved is not None:
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps({"model_json": trained.model_json, "pins": trained.pins}))
    return trained.model_json, trained.pins, None


class Tally:
    """Outcomes of the requests of one set."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.lacking: Counter[str] = Counter()
        self.by_noise: dict[str, Counter[str]] = {}
        self.wrong_examples: list[dict[str, Any]] = []

    def add(self, row: Any, what: str) -> None:
        self.count[what] += 1
        for noise in (row.noise or "none").split(";"):
            self.by_noise.setdefault(noise, Counter())[what] += 1

    def refuse(self, row: Any, refusal: Refusal) -> None:
        self.add(row, "refused_at_intake")
        self.reasons.update(refusal.reasons)
        self.lacking[_lacks(row)] += 1
        self.count["refused_beyond_target"] += _beyond_target(row)

    def traced(self, row: Any, result: Any) -> None:
        true = row.person
        if result.nhs_number is None:
            self.add(row, f"{result.outcome.value}_{'present' if true else 'absent'}")
            return
        self.add(row, "right" if result.nhs_number == true else
                 "wrong_absent" if true is None else "wrong_present")
        if result.nhs_number != true and len(self.wrong_examples) < 20:
            self.wrong_examples.append({"request": row.id, "noise": row.noise,
                                        "p": result.match_probability,
                                        "margin": result.margin})


def trace_all(engine: Engine, requests: pd.DataFrame) -> Tally:
    tally = Tally()
    with unit_of_work(engine) as session:
        for row in requests.itertuples(index=False):
            request = intake(row)
            if isinstance(request, Refusal):
                tally.refuse(row, request)
            else:
                tally.traced(row, matching.trace_request(session, request))
    return tally


def figures(tally: Tally, requests: pd.DataFrame) -> dict[str, Any]:
    c, n = tally.count, len(requests)
    present = int(requests["person"].notna().sum())
    right, wrong = c["right"], c["wrong_present"] + c["wrong_absent"]
    released = right + wrong
    return {
        "requests": n, "requests_present": present, "requests_absent": n - present,
        "refused_at_intake": c["refused_at_intake"],
        "refused_share": c["refused_at_intake"] / n,
        "refused_by_reason": dict(tally.reasons.most_common()),
        "refused_by_missing_fields": dict(tally.lacking.most_common()),
        "refused_beyond_target": c["refused_beyond_target"],
        "released": released, "right": right, "wrong_releases": wrong,
        "absent_people_released": c["wrong_absent"],
        "wrong_person_released_for_present": c["wrong_present"],
        "precision": right / released if released else None,
        "recall_present": right / present if present else None,
        "outcomes": {k: v for k, v in sorted(c.items())
                     if k not in ("refused_beyond_target", "present", "absent")},
        "wrong_examples": tally.wrong_examples}


def _with_tf(people: list[Person], tf: dict[str, dict[str, float]]) -> list[Person]:
    """People carrying the register's term frequencies of their values (as index rows do)."""
    def of(column: str, value: str | None) -> float | None:
        return tf[column].get(value) if value is not None else None

    return [replace(p, tf_given_name=of("given_name", p.given_name),
                    tf_family_name=of("family_name", p.family_name),
                    tf_postcode=of("postcode", p.postcode)) for p in people]


def run_set(data: LinkageSet, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    load_start = os.getloadavg()
    data = hold_out(data, args.absent_share, args.seed)
    accepted = [(row.id, q) for row in data.requests.itertuples(index=False)
                if not isinstance(q := intake(row), Refusal)]
    lookups = [matching.request_person(q, qid) for qid, q in accepted]
    started = time.perf_counter()
    model_json, pins, reused = _model(data, lookups, args)
    train_seconds = time.perf_counter() - started
    engine = _engine(folder, data.name)
    started = time.perf_counter()
    _store(engine, data.register, model_json)
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    tally = trace_all(engine, data.requests)
    engine.dispose()
    result: dict[str, Any] = {
        "dataset": data.name, **data.facts, "train_seconds": round(train_seconds, 1),
        "index_seconds": round(index_seconds, 1),
        "trace_seconds": round(time.perf_counter() - started, 1), "pins": pins,
        "model": {"sha256": model_hash(model_json), "reused": reused},
        "caldicott": figures(tally, data.requests)}
    if data.name == "synthetic":
        result["caldicott"]["by_noise"] = {k: dict(v) for k, v in sorted(tally.by_noise.items())}
    people = [normalise_person(r.id, r.given, r.family, r.dob, r.postcode, r.sex)
              for r in data.requests.itertuples(index=False)]
    truth = dict(zip(data.requests["id"], data.requests["person"], strict=True))
    if not args.skip_splink:
        result["splink_documented"] = splink_documented(
            data.register, people, truth, data.name != "febrl4", args.seed)
    if data.name == "febrl4" and args.parity:
        tf = term_frequencies(data.register)
        result["parity"] = parity(json.loads(model_json), _with_tf(data.register, tf),
                                  _with_tf(people, tf), truth, tf, args.parity, args.seed)
    result["load_average"] = {"at_start": load_start, "at_end": os.getloadavg()}
    return result


def _show(result: dict[str, Any]) -> None:
    ours = result["caldicott"]
    keys = ("requests", "requests_absent", "refused_at_intake", "refused_share",
            "refused_beyond_target", "released", "wrong_releases", "absent_people_released",
            "precision", "recall_present")
    print(result["dataset"], "caldicott", json.dumps({k: ours[k] for k in keys}), flush=True)
    print(result["dataset"], "refused by reason", json.dumps(ours["refused_by_reason"]),
          "by missing fields", json.dumps(ours["refused_by_missing_fields"]), flush=True)
    if "splink_documented" in result:
        print(result["dataset"], "splink_documented", json.dumps(result["splink_documented"]),
              flush=True)
    if "parity" in result:
        print(result["dataset"], "parity", json.dumps(result["parity"]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="synthetic register of 100,000; parity on 1,000 pairs")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--absent-share", type=float, default=0.25,
                        help="at least this share of requests ask for someone not registered")
    parser.add_argument("--synthetic-people", type=int, default=None,
                        help="register size of the synthetic set (1,000,000; 100,000 quick)")
    parser.add_argument("--synthetic-queries", type=int, default=20_000)
    parser.add_argument("--u-pairs", type=float, default=2.5e7,
                        help="pairs sampled to estimate u (FEBRL4's 5,000 x 5,000 = 2.5e7)")
    parser.add_argument("--skip-splink", action="store_true")
    parser.add_argument("--only", choices=["febrl4", "historical_figures", "synthetic"])
    parser.add_argument("--models", type=Path, default=None,
                        help="keep trained models here and reuse them (same set, seed, "
                             "look-ups): for changes to the release rule only")
    parser.add_argument("--folder", type=Path, default=None,
                        help="where the SQLite databases go (a temporary folder)")
    args = parser.parse_args()
    args.parity = 1000 if args.quick else 10_000
    people = args.synthetic_people or (100_000 if args.quick else 1_000_000)
    loaders = {"febrl4": febrl4, "historical_figures": historical,
               "synthetic": lambda: synthetic(people, args.synthetic_queries, args.seed)}
    wanted = [args.only] if args.only else list(loaders)
    results: list[dict[str, Any]] = []
    name = "trace_accuracy" + (f"_{args.only}" if args.only else "") + (
        "_quick" if args.quick else "")
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        for which in wanted:
            results.append(run_set(loaders[which](), args, Path(folder)))
            _show(results[-1])
            write_results(name, {"seed": args.seed, "absent_share": args.absent_share,
                                 "results": results})
    print("wrote", name, "load average", os.getloadavg())


if __name__ == "__main__":
    main()
