"""Batch tracing through Splink (DuckDB): a file of queries in, outcomes out.

Splink scores the blocked pairs (``predict_between``, the same blocking keys as
the real-time index); the release rule is the same function real-time tracing
uses, so a query gets the same outcome either way.

In: ``query_id, given_name, family_name, birth_date[, postcode][, sex]``.
Out: ``query_id, outcome, nhs_number, match_probability, margin`` where margin
is the lead of the best person over the runner-up in match-weight bits (empty
when there is no runner-up). A row that is not a valid request gets the
outcome ``invalid`` and the reason is counted on stderr.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from caldicott.errors import CaldicottError, NotAFile
from caldicott.matching.core.release import Ranked, ReleaseRule, best_per_person, decide, margin_of

IN_COLUMNS = ("query_id", "given_name", "family_name", "birth_date", "postcode", "sex")
REQUIRED = ("query_id", "given_name", "family_name", "birth_date")
OUT_COLUMNS = ("query_id", "outcome", "nhs_number", "match_probability", "margin")


@dataclass
class BatchReport:
    queries: int = 0
    invalid: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    model_version: int = 0


def read_queries(path: Path, strict: bool = True) -> Iterator[tuple[str, Any]]:
    """Yield (query_id, TraceRequest or the error) per row of a queries CSV."""
    from caldicott.matching.service import check_request

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


def _format(value: float | None) -> str:
    if value is None or math.isnan(value) or math.isinf(value):
        return ""
    return repr(float(value))


def decide_rows(pairs: Any, rule: ReleaseRule) -> dict[str, tuple[str, str, str, str]]:
    """Apply the release rule per query to Splink's scored pairs."""
    ranked: dict[str, list[Ranked]] = defaultdict(list)
    for qid, nhs, mw, p in zip(pairs["unique_id_l"], pairs["nhs_number_r"],
                               pairs["match_weight"], pairs["match_probability"], strict=True):
        ranked[str(qid)].append(Ranked(str(nhs), float(mw), float(p)))
    out = {}
    for qid, scores in ranked.items():
        best = best_per_person(scores)
        outcome = decide(best, rule)
        out[qid] = (outcome.value, best[0].nhs_number if outcome.value == "traced" else "",
                    _format(best[0].match_probability), _format(margin_of(best)))
    return out


def trace_file(session: Session, queries: Path, out: Path, rule: ReleaseRule | None = None,
               chunk: int = 25_000,
               progress: Callable[[int], None] | None = None) -> BatchReport:
    """Trace every query in ``queries`` through Splink; write ``out``."""
    from caldicott.matching import repository
    from caldicott.matching.frames import people_frame
    from caldicott.matching.service import request_person, scorer_for
    from caldicott.matching.splink_scoring import SplinkLinker

    rule = rule or ReleaseRule()
    version, scorer = scorer_for(session)
    register = list(repository.all_index_rows(session))
    tf: dict[str, dict[str, float]] = {"given_name": {}, "family_name": {}, "postcode": {}}
    for person in register:
        for column in tf:
            value, freq = getattr(person, column), getattr(person, f"tf_{column}")
            if value is not None and freq is not None:
                tf[column][value] = freq
    linker = SplinkLinker(scorer.settings, people_frame(register), tf)
    report = BatchReport(model_version=version)
    rows = list(read_queries(queries, strict=False))
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUT_COLUMNS)
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            people = [request_person(r, qid) for qid, r in part
                      if not isinstance(r, CaldicottError)]
            decided = decide_rows(linker.predict(people_frame(people)), rule) if people else {}
            for qid, request in part:
                if isinstance(request, CaldicottError):
                    row: tuple[str, ...] = ("invalid", "", "", "")
                    report.invalid += 1
                else:
                    row = decided.get(qid, ("no_trace", "", "", ""))
                report.outcomes[row[0]] += 1
                writer.writerow((qid, *row))
            report.queries += len(part)
            if progress:
                progress(len(part))
    return report
