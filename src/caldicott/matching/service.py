"""Use cases of the matcher: train a model, rebuild the index, trace a request.

Services never commit; the edge (CLI command, route) owns the transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from caldicott.errors import CaldicottError, InvalidInput, NotAFile, Unprocessable
from caldicott.matching import repository
from caldicott.matching.core.identifiers import FIELDS, missing_of, why_untraceable
from caldicott.matching.core.normalise import (
    Person,
    normalise_birth_date,
    normalise_name,
    normalise_person,
)
from caldicott.matching.core.release import ReleaseRule
from caldicott.matching.core.scorer import ModelMismatch, Scorer, model_hash
from caldicott.matching.core.trace import TraceResult, trace

#: The columns a queries CSV must have (batch tracing, training look-ups).
REQUIRED = ("query_id", "given_name", "family_name", "birth_date")
_scorers: dict[tuple[int, str], Scorer] = {}
_lock = threading.Lock()


class Untraceable(Unprocessable):
    """A request with nothing identifying left (no name, or nothing but a name): a
    business outcome, said plainly with the fields missing (HTTP 422)."""


@dataclass(frozen=True)
class TraceRequest:
    """What a tracing request carries: any field may be missing, but not every
    identifying one (see :func:`check_request`)."""

    given_name: str | None
    family_name: str | None
    birth_date: dt.date | None
    postcode: str | None = None
    sex: str | None = None


def _blank(value: object) -> bool:
    return value is None or str(value).strip() == ""


def _check_name(value: str | None, what: str) -> str | None:
    if _blank(value):
        return None
    if normalise_name(value) is None:
        raise InvalidInput(f"{what} {value!s} has no letters to compare; leave it out if "
                           "it is not known")
    return str(value).strip()


def _check_birth_date(birth_date: str | dt.date | None, today: dt.date) -> dt.date | None:
    if _blank(birth_date):
        return None
    iso = normalise_birth_date(birth_date)
    try:
        born = dt.date.fromisoformat(iso) if iso else None
    except ValueError:
        born = None
    if born is None:
        raise InvalidInput(f"date of birth {birth_date!s} is not a real date (YYYY-MM-DD)")
    if born > today:
        raise InvalidInput(f"date of birth {born.isoformat()} is in the future")
    return born


def check_request(given: str | None, family: str | None, birth_date: str | dt.date | None,
                  postcode: str | None = None, sex: str | None = None,
                  today: dt.date | None = None) -> TraceRequest:
    """Validate a request's fields; raise InvalidInput saying what is wrong.

    Any field may be left out; a request with no name, or nothing but a name, is
    refused (:class:`Untraceable`), saying which fields are missing
    (:func:`~caldicott.matching.core.identifiers.why_untraceable`).

    Example:
        >>> check_request("Ann", None, "1990-01-02").birth_date
        datetime.date(1990, 1, 2)
    """
    given_name = _check_name(given, "given name")
    family_name = _check_name(family, "family name")
    born = _check_birth_date(birth_date, today or dt.date.today())
    sex = None if _blank(sex) else sex
    if sex is not None and sex not in ("male", "female", "other", "unknown"):
        raise InvalidInput(f"sex {sex!r} is not one of male, female, other, unknown")
    request = TraceRequest(given_name, family_name, born,
                           None if _blank(postcode) else postcode, sex)
    why = why_untraceable(set(FIELDS) - set(missing_of(request_person(request))))
    if why is not None:
        raise Untraceable(f"the request cannot be traced: {why}")
    return request


def read_queries(path: Path, strict: bool = True) -> Iterator[tuple[str, Any]]:
    """Yield (query_id, TraceRequest or the error) per row of a queries CSV (the batch
    trace's input, and the look-ups training reads)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise NotAFile(f"{path.name}: missing column(s) {', '.join(missing)}")
        for row in reader:
            try:
                request = check_request(row["given_name"], row["family_name"],
                                        row["birth_date"], row.get("postcode") or None,
                                        (row.get("sex") or "").strip().lower() or None)
            except CaldicottError as error:
                if strict:
                    raise
                yield row["query_id"], error
                continue
            yield row["query_id"], request


def scorer_for(session: Session, version: int | None = None) -> tuple[int, Scorer]:
    """The scorer of a model version (the active one by default), cached in process."""
    if version is None:
        active = repository.active_model_version(session)
        if active is None:
            raise Unprocessable("no trained matching model: run `caldicott model train`")
        version, sha = active
    else:
        row = repository.model_by_version(session, version)
        if row is None:
            raise InvalidInput(f"there is no matching model version {version}")
        sha = row.sha256
    key = (version, sha)
    with _lock:
        scorer = _scorers.get(key)
    if scorer is None:
        row = repository.model_by_version(session, version)
        assert row is not None
        try:
            scorer = Scorer.from_json(row.model_json)
        except ModelMismatch as error:  # trained by an older caldicott's comparisons
            raise Unprocessable(
                f"matching model version {version} does not fit this version of caldicott "
                f"({error}): retrain it with `caldicott model train`") from None
        with _lock:
            _scorers[key] = scorer
    return version, scorer


def request_person(request: TraceRequest, record_id: str = "request") -> Person:
    return normalise_person(record_id, request.given_name, request.family_name,
                            request.birth_date, request.postcode, request.sex)


def trace_request(session: Session, request: TraceRequest,
                  rule: ReleaseRule | None = None, version: int | None = None) -> TraceResult:
    """Trace one request against the register in process (with model ``version``, by
    default the active one: a reviewer's explanation uses the version the trace used).

    Example:
        >>> request = check_request("Ann", "Lee", "1990-01-02")
        >>> trace_request(session, request).outcome  # doctest: +SKIP
        <Outcome.TRACED: 'traced'>
    """
    version, scorer = scorer_for(session, version)
    person = request_person(request)
    rows = repository.candidate_rows(session, person)
    return trace(person, rows, scorer, rule or ReleaseRule(), version)


def rebuild_index(session: Session) -> int:
    """Rebuild the blocking index from the register, with fresh term frequencies."""
    from caldicott.matching.frames import term_frequencies

    people = list(repository.register_people(session))
    return repository.replace_index(session, people, tf=term_frequencies(people))


@dataclass
class TrainReport:
    version: int
    sha256: str
    link_type: str
    register_rows: int
    lookups: int
    pins: list[dict[str, Any]]
    parameters: list[dict[str, Any]]
    prior_weight: float


def train_model(session: Session, lookups_path: Path | None = None, seed: int = 42,
                max_pairs: float = 5e6) -> TrainReport:
    """Train on the register (and look-ups), store the model as the next version."""
    from caldicott.matching.frames import people_frame, term_frequencies
    from caldicott.matching.training import train

    people = list(repository.register_people(session))
    # People, not rows: a person's previous names and addresses are rows of
    # their own, and the prior is one over the people.
    count = len({p.nhs_number for p in people})
    if count < 2:
        raise Unprocessable(f"the register holds {count} "
                            f"{'person' if count == 1 else 'people'}: training a model "
                            "needs at least two (import the register first)")
    lookups = read_lookups(lookups_path) if lookups_path else None
    trained = train(people_frame(people), people_frame(lookups) if lookups else None,
                    seed=seed, max_pairs=max_pairs)
    model_json = trained.model_json
    sha = model_hash(model_json)
    row = repository.save_model(
        session, model_json=model_json, sha256=sha, pins=trained.pins,
        link_type=trained.link_type,
        trained_on=f"register of {len(people)} rows"
        + (f" and {len(lookups)} look-ups from {lookups_path.name}"
           if lookups and lookups_path else ""))
    repository.replace_index(session, people, tf=term_frequencies(people))
    scorer = Scorer(json.loads(model_json))
    return TrainReport(row.version, sha, trained.link_type, len(people),
                       len(lookups) if lookups else 0, trained.pins, scorer.parameters(),
                       scorer.prior_weight)


def read_lookups(path: Path) -> list[Person]:
    """Read a look-ups CSV (the batch query columns) into normalised people."""
    return [request_person(q, qid) for qid, q in read_queries(path, strict=False)
            if isinstance(q, TraceRequest)]
