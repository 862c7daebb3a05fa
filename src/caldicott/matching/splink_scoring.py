"""Scoring through Splink itself (DuckDB): the batch path and the reference
the in-process scorer is measured against.

Term frequencies are the register's, registered with Splink as lookup tables
(``register_term_frequency_lookup``), so a request's value and a register
row's value get the frequencies the in-process scorer reads. (Splink 5's
``predict_between`` accepts hardcoded ``tf_*`` columns in its check but then
joins the lookup tables regardless, so lookups are the path that works.)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from caldicott.matching.core.normalise import Person
from caldicott.matching.frames import people_frame
from caldicott.matching.training import PREDICTION_BLOCKING_RULES

TermFrequencies = dict[str, dict[str, float]]


def _without_tf(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if c.startswith("tf_")])


def _linker(model: dict[str, Any], left: pd.DataFrame, right: pd.DataFrame,
            tf: TermFrequencies) -> Any:
    from splink import DuckDBAPI, Linker

    logging.getLogger("splink").setLevel(logging.ERROR)
    db_api = DuckDBAPI()
    left_sdf = db_api.register(_without_tf(left), dataset_display_name="requests")
    right_sdf = db_api.register(_without_tf(right), dataset_display_name="register")
    linker = Linker([left_sdf, right_sdf], dict(model), log_level=None)
    for column, table in tf.items():
        lookup = pd.DataFrame({column: list(table), f"tf_{column}": list(table.values())})
        linker.table_management.register_term_frequency_lookup(
            db_api.register(lookup, dataset_display_name=f"tf_lookup_{column}"), column)
    return linker, left_sdf, right_sdf


def predict_between(model: dict[str, Any], requests: pd.DataFrame, register: pd.DataFrame,
                    tf: TermFrequencies,
                    blocking_rules: Sequence[str] | None = None) -> pd.DataFrame:
    """Splink's ``predict_between`` of requests (left) against the register (right).

    Returns one row per blocked pair: ``unique_id_l``, ``unique_id_r``,
    ``nhs_number_r``, ``match_weight``, ``match_probability``.
    """
    linker, left_sdf, right_sdf = _linker(model, requests, register, tf)
    rules = list(blocking_rules or PREDICTION_BLOCKING_RULES)
    result = linker.inference.predict_between(
        left_sdf, right_sdf, link_type="link_only",
        blocking_rules_to_generate_predictions=rules, warning_mode="never")
    frame = result.as_pandas_dataframe()
    return frame


def score_pairs(model: dict[str, Any], pairs: Sequence[tuple[Person, Person]],
                tf: TermFrequencies) -> list[float]:
    """Splink's match probability for each (request, candidate) pair, in order."""
    left = people_frame(p for p, _ in pairs)
    right = people_frame(q for _, q in pairs)
    ids = [str(i) for i in range(len(pairs))]
    left["unique_id"] = ids
    right["unique_id"] = ids
    frame = predict_between(model, left, right, tf, ['l."unique_id" = r."unique_id"'])
    by_id = dict(zip(frame["unique_id_l"].astype(str), frame["match_probability"], strict=True))
    return [float(by_id[i]) for i in ids]
