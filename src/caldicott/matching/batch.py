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
import itertools
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from caldicott.errors import CaldicottError
from caldicott.matching.core.comparisons import (
    AGREEMENT,
    COMPARISON_OF,
    ELSE_LABEL,
    NOT_CONTRADICTING,
)
from caldicott.matching.core.identifiers import missing_of
from caldicott.matching.core.release import (
    CONTRADICTING,
    CORROBORATING,
    Ranked,
    ReleaseRule,
    best_per_person,
    decide,
    margin_of,
)
from caldicott.matching.service import read_queries, request_person, scorer_for
from caldicott.postcodes import CANONICAL_SQL as _UK_SPACED

KEYS_COLUMN = "blocking_keys"
IN_COLUMNS = ("query_id", "given_name", "family_name", "birth_date", "postcode", "sex")
OUT_COLUMNS = ("query_id", "outcome", "nhs_number", "match_probability", "margin")


@dataclass
class BatchReport:
    queries: int = 0
    invalid: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    model_version: int = 0
    # Seconds spent per phase: reading the queries, loading the register into
    # DuckDB, preparing the requests, Splink's predict, the release rule, writing.
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))


def _format(value: float | None) -> str:
    if value is None or math.isnan(value) or math.isinf(value):
        return ""
    return repr(float(value))


def _agreeing(pairs: Any, count: int, prefix: str = "agree",
              names: tuple[str, ...] = CORROBORATING) -> list[frozenset[str]]:
    """Per pair, the corroborating identifiers that agree exactly (``agree_*`` columns,
    absent when the caller did not compute them), or with ``prefix="contra"`` the
    contradicting ones."""
    flags = [(name, pairs[f"{prefix}_{name}"]) for name in names
             if f"{prefix}_{name}" in pairs]
    flags = [(name, c.tolist() if hasattr(c, "tolist") else list(c)) for name, c in flags]
    return [frozenset(name for name, column in flags if column[i]) for i in range(count)]


def decide_rows(pairs: Any, rule: ReleaseRule,
                missing: Mapping[str, Collection[str]] | None = None
                ) -> dict[str, tuple[str, str, str, str]]:
    """Apply the release rule per query to Splink's scored pairs (columns
    ``unique_id_l``, ``nhs_number_r``, ``match_weight``, ``match_probability`` and
    the ``agree_*`` flags), raised for the fields each query lacks (``missing``)."""
    ranked: dict[str, list[Ranked]] = defaultdict(list)
    columns = [pairs[c] for c in ("unique_id_l", "nhs_number_r", "match_weight",
                                  "match_probability")]
    columns = [c.tolist() if hasattr(c, "tolist") else list(c) for c in columns]
    agreeing = _agreeing(pairs, len(columns[0]))
    against = _agreeing(pairs, len(columns[0]), "contra", CONTRADICTING)
    for (qid, nhs, mw, p), agree, contra in zip(zip(*columns, strict=True), agreeing,
                                                  against, strict=True):
        ranked[str(qid)].append(Ranked(str(nhs), float(mw), float(p), agree, contra))
    out = {}
    for qid, scores in ranked.items():
        best = best_per_person(scores)
        outcome = decide(best, rule, (missing or {}).get(qid, ()))
        out[qid] = (outcome.value, best[0].nhs_number if outcome.value == "traced" else "",
                    _format(best[0].match_probability), _format(margin_of(best)))
    return out


def _sides(sql: str) -> str:
    """A level's SQL condition read between the request (``l``) and the register row (``r``)."""
    import re

    return re.sub(r'"(\w+)_([lr])"', r'\2."\1"', sql)


def _agreement_sql() -> str:
    """The ``agree_*`` flags: each corroborating comparison's exact-agreement level;
    the ``contra_*`` flags: each contradicting comparison fell to its ``else`` level
    (no level before it, null level included, holds: SQL's ``CASE`` as Splink's)."""
    flags = [f"coalesce({_sides(AGREEMENT[name].sql)}, false) AS agree_{name}"
             for name in CORROBORATING]
    for name in CONTRADICTING:
        levels = [lv.sql for lv in COMPARISON_OF[name].levels if lv.label != ELSE_LABEL]
        levels += [NOT_CONTRADICTING[name].sql] if name in NOT_CONTRADICTING else []
        held = " OR ".join(f"coalesce({_sides(sql)}, false)" for sql in levels)
        flags.append(f"NOT ({held}) AS contra_{name}")
    return ", ".join(flags)


# The register as Splink reads it, derived in DuckDB from the index's stored
# (already normalised) columns: the values ``normalise.from_index`` gives (the
# batch = real-time test checks it), with the blocking keys as "column=value".
_STORED = ("id", "nhs_number", "given_name", "family_name", "given_nicks", "birth_date",
           "postcode", "sex", "tf_given_name", "tf_family_name", "tf_postcode")
_TF_COLUMNS = ("given_name", "family_name", "postcode")


def _derived_sql(columns: list[str]) -> str:
    from caldicott.matching.core.normalise import BLOCKING_KEYS

    keys = ", ".join(f"'{k}=' || {k}" for k in BLOCKING_KEYS)
    derived = {
        "unique_id": "CAST(id AS VARCHAR)",
        "given_nicks": "CASE WHEN given_nicks IS NULL OR given_nicks = '' THEN NULL "
                       "ELSE string_split(given_nicks, '|') END",
        "birth_year": "CASE WHEN birth_date <> '' THEN substr(birth_date, 1, 4) END",
        "birth_month": "CASE WHEN birth_date <> '' THEN substr(birth_date, 6, 2) END",
        "birth_day": "CASE WHEN birth_date <> '' THEN substr(birth_date, 9) END",
        "postcode_sector": f"CASE WHEN regexp_matches(postcode, '{_UK_SPACED}') THEN "
                           f"regexp_extract(postcode, '{_UK_SPACED}', 1) || ' ' || "
                           f"regexp_extract(postcode, '{_UK_SPACED}', 2) END",
        "postcode_district": f"CASE WHEN regexp_matches(postcode, '{_UK_SPACED}') THEN "
                             f"regexp_extract(postcode, '{_UK_SPACED}', 1) END",
        KEYS_COLUMN: f"list_filter([{keys}], lambda x: x IS NOT NULL)",
    }
    return ", ".join(f"{derived.get(c, c)} AS {c}" for c in columns)


def _read_index(session: Session, connection: Any, columns: list[str],
                page: int = 200_000) -> int:
    """Copy the index into DuckDB table ``stored`` a page at a time, as Arrow
    columns (no pandas, no Python object per value but the driver's)."""
    import pyarrow as pa

    from caldicott.matching.core.normalise import BLOCKING_KEYS

    names = [*_STORED, *BLOCKING_KEYS]
    types = [pa.int64(), *([pa.string()] * 7), *([pa.float64()] * 3),
             *([pa.string()] * len(BLOCKING_KEYS))]
    schema = pa.schema(list(zip(names, types, strict=True)))
    raw = session.connection().connection.driver_connection
    cursor = raw.cursor()  # type: ignore[union-attr]
    count = 0
    try:
        cursor.execute(f"SELECT {', '.join(names)} FROM match_index ORDER BY id")
        first = True
        while rows := cursor.fetchmany(page):
            arrays = [pa.array(c, type=t) for c, t in zip(zip(*rows, strict=True), types,
                                                          strict=True)]
            chunk = pa.Table.from_arrays(arrays, schema=schema)
            connection.register("chunk", chunk)
            connection.execute("CREATE TABLE stored AS SELECT * FROM chunk" if first
                               else "INSERT INTO stored SELECT * FROM chunk")
            connection.unregister("chunk")
            first, count = False, count + len(rows)
    finally:
        cursor.close()
    if first:
        empty = schema.empty_table()
        connection.register("chunk", empty)
        connection.execute("CREATE TABLE stored AS SELECT * FROM chunk")
        connection.unregister("chunk")
    return count


class BatchLinker:
    """Splink (DuckDB) holding the model and the register read straight from
    the index, with the term frequencies stored beside it as lookup tables
    (as :class:`~caldicott.matching.splink_scoring.SplinkLinker`, without the
    round trip through pandas that cost a minute at a million people)."""

    def __init__(self, session: Session, model: dict[str, Any], columns: list[str]) -> None:
        import duckdb
        from splink import DuckDBAPI, Linker

        logging.getLogger("splink").setLevel(logging.ERROR)
        self.connection = duckdb.connect()
        self.rows = _read_index(session, self.connection, columns)
        self.connection.execute(
            f"CREATE TABLE register AS SELECT {_derived_sql(columns)} FROM stored")
        self._db_api = DuckDBAPI(self.connection)
        self._register = self._db_api.register("register", dataset_display_name="register")
        self.linker = Linker([self._register], dict(model), log_level=None,
                             validate_settings=False)
        for column in _TF_COLUMNS:
            self.connection.execute(
                f"CREATE TABLE tf_{column}_lookup AS SELECT {column}, "
                f"any_value(tf_{column}) AS tf_{column} FROM stored "
                f"WHERE {column} IS NOT NULL AND tf_{column} IS NOT NULL GROUP BY {column}")
            self.linker.table_management.register_term_frequency_lookup(
                self._db_api.register(f"tf_{column}_lookup",
                                      dataset_display_name=f"tf_lookup_{column}"), column)
        self.connection.execute("DROP TABLE stored")
        self._chunks = itertools.count()

    def predict(self, requests: Any, blocking_rules: list[Any]) -> dict[str, Any]:
        """Scored pairs, each person's best row per request: numpy columns."""
        left = self._db_api.register(requests, dataset_display_name=(
            f"requests_{next(self._chunks)}"))
        result = self.linker.inference.predict_between(
            left, self._register, link_type="link_only",
            blocking_rules_to_generate_predictions=blocking_rules, warning_mode="never")
        pairs = self.connection.sql(
            "SELECT p.unique_id_l, p.nhs_number_r, p.match_weight, p.match_probability, "
            f"{_agreement_sql()} FROM {result.physical_name} p "
            f"JOIN {left.physical_name} l ON l.unique_id = p.unique_id_l "
            "JOIN register r ON r.unique_id = p.unique_id_r").fetchnumpy()
        result.drop_table_from_database_and_remove_from_cache()
        return pairs

    def close(self) -> None:
        self.connection.close()


def _register_frame_and_tf(session: Session) -> tuple[Any, dict[str, dict[str, float]]]:
    """The index as a pandas frame for :class:`SplinkLinker`, and its term
    frequencies (the benchmark's ``predict_between`` path)."""
    from caldicott.matching.core.normalise import BLOCKING_KEYS
    from caldicott.matching.frames import PERSON_COLUMNS

    columns = ["unique_id", *(c for c in PERSON_COLUMNS if c != "record_id"
                              and not c.startswith("tf_")), KEYS_COLUMN]
    import duckdb

    connection = duckdb.connect()
    _read_index(session, connection, columns)
    frame = connection.sql(f"SELECT {_derived_sql(columns)} FROM stored").df()
    frame["given_nicks"] = [list(v) if v is not None else None for v in frame["given_nicks"]]
    frame[KEYS_COLUMN] = [list(v) for v in frame[KEYS_COLUMN]]
    tf = {c: dict(connection.sql(
        f"SELECT {c}, any_value(tf_{c}) FROM stored WHERE {c} IS NOT NULL "
        f"AND tf_{c} IS NOT NULL GROUP BY {c}").fetchall()) for c in _TF_COLUMNS}
    connection.close()
    assert all(k in frame.columns for k in BLOCKING_KEYS)
    return frame.astype(object).where(frame.notna(), None), tf


def _requests_frame(people: list[Any]) -> Any:
    from caldicott.matching.core.index import lookups
    from caldicott.matching.frames import people_frame

    frame = people_frame(people, with_tf=False)
    frame[KEYS_COLUMN] = [[f"{c}={v}" for c, v in lookups(p)] for p in people]
    return frame


def _blocking_rule() -> Any:
    """One exploding rule over "column=value" keys: the union of
    ``PREDICTION_BLOCKING_RULES`` (the request side carries the swapped keys
    too, as ``core.index.lookups`` does), which DuckDB joins in one hash join
    instead of eleven rules each excluding the ones before it (100x faster)."""
    from splink import block_on

    return block_on(KEYS_COLUMN, arrays_to_explode=[KEYS_COLUMN])


def _columns() -> list[str]:
    """The columns of a requests frame, in order: the register's must match."""
    from caldicott.matching.frames import PERSON_COLUMNS

    return ["unique_id", *(c for c in PERSON_COLUMNS
                           if c != "record_id" and not c.startswith("tf_")), KEYS_COLUMN]


def trace_file(session: Session, queries: Path, out: Path, rule: ReleaseRule | None = None,
               chunk: int = 50_000,
               progress: Callable[[int], None] | None = None) -> BatchReport:
    """Trace every query in ``queries`` through Splink; write ``out``.

    The register goes from the index into DuckDB once (Arrow pages, derived
    columns in SQL); the queries are scored ``chunk`` at a time, each chunk
    reported to ``progress`` as it is written.
    """
    rule = rule or ReleaseRule()
    version, scorer = scorer_for(session)
    report = BatchReport(model_version=version)
    clock = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[phase] += now - clock
        clock = now

    rows = list(read_queries(queries, strict=False))
    lap("read_queries")
    linker = BatchLinker(session, scorer.settings, _columns())
    lap("load_register")
    try:
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(OUT_COLUMNS)
            for start in range(0, len(rows), chunk):
                part = rows[start:start + chunk]
                people = [request_person(r, qid) for qid, r in part
                          if not isinstance(r, CaldicottError)]
                frame = _requests_frame(people) if people else None
                lap("prepare_requests")
                pairs = linker.predict(frame, [_blocking_rule()]) if people else None
                lap("predict")
                missing = {p.record_id: missing_of(p) for p in people}
                decided = decide_rows(pairs, rule, missing) if people else {}
                lap("release_rule")
                lines = []
                for qid, request in part:
                    if isinstance(request, CaldicottError):
                        row: tuple[str, ...] = ("invalid", "", "", "")
                        report.invalid += 1
                    else:
                        row = decided.get(qid, ("no_trace", "", "", ""))
                    report.outcomes[row[0]] += 1
                    lines.append((qid, *row))
                writer.writerows(lines)
                lap("write")
                report.queries += len(part)
                if progress:
                    progress(len(part))
    finally:
        linker.close()
    return report
