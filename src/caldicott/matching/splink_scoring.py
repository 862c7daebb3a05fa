"""Scoring through Splink itself (DuckDB): the batch path, and the reference
the in-process scorer is measured against.

Term frequencies are the register's, registered with Splink as lookup tables
(``register_term_frequency_lookup``), so a request's value and a register
row's value get the frequencies the in-process scorer reads. (Splink 5's
``predict_between`` accepts hardcoded ``tf_*`` columns in its check but then
joins the lookup tables regardless, so lookups are the path that works.)
"""

from __future__ import annotations

import itertools
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


class SplinkLinker:
    """A Splink linker holding the model, the register and its term frequencies.

    Example:
        >>> linker = SplinkLinker(model, people_frame(register), tf)    # doctest: +SKIP
        >>> linker.predict(people_frame(requests)).head()              # doctest: +SKIP
    """

    def __init__(self, model: dict[str, Any], register: pd.DataFrame,
                 tf: TermFrequencies) -> None:
        from splink import DuckDBAPI, Linker

        logging.getLogger("splink").setLevel(logging.ERROR)
        self._db_api = DuckDBAPI()
        self._chunks = itertools.count()
        self._register = self._db_api.register(_without_tf(register),
                                               dataset_display_name="register")
        self.linker = Linker([self._register], dict(model), log_level=None,
                             validate_settings=False)
        for column, table in tf.items():
            lookup = pd.DataFrame({column: list(table), f"tf_{column}": list(table.values())})
            self.linker.table_management.register_term_frequency_lookup(
                self._db_api.register(lookup, dataset_display_name=f"tf_lookup_{column}"),
                column)

    def predict(self, requests: pd.DataFrame,
                blocking_rules: Sequence[Any] | None = None) -> pd.DataFrame:
        """``predict_between`` requests (left) and the register (right).

        Returns one row per blocked pair with ``unique_id_l``, ``unique_id_r``,
        ``nhs_number_r``, ``match_weight`` and ``match_probability``.
        """
        left = self._db_api.register(_without_tf(requests),
                                     dataset_display_name=f"requests_{next(self._chunks)}")
        result = self.linker.inference.predict_between(
            left, self._register, link_type="link_only",
            blocking_rules_to_generate_predictions=list(
                blocking_rules or PREDICTION_BLOCKING_RULES),
            warning_mode="never")
        frame: pd.DataFrame = result.as_pandas_dataframe()  # type: ignore[no-untyped-call]
        result.drop_table_from_database_and_remove_from_cache()
        return frame


def score_pairs(model: dict[str, Any], pairs: Sequence[tuple[Person, Person]],
                tf: TermFrequencies) -> list[float]:
    """Splink's match probability for each (request, candidate) pair, in order."""
    left = people_frame(p for p, _ in pairs)
    right = people_frame(q for _, q in pairs)
    ids = [str(i) for i in range(len(pairs))]
    left["unique_id"] = ids
    right["unique_id"] = ids
    frame = SplinkLinker(model, right, tf).predict(left, ['l."unique_id" = r."unique_id"'])
    by_id = dict(zip(frame["unique_id_l"].astype(str), frame["match_probability"], strict=True))
    return [float(by_id[i]) for i in ids]
