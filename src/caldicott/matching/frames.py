"""Normalised people as data frames, the shape Splink reads.

Every column the model or a blocking rule needs is computed in Python by
:func:`caldicott.matching.core.normalise.normalise_person`; Splink only
compares them. That is what makes the in-process scorer's answer and Splink's
the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields

import pandas as pd

from caldicott.matching.core.normalise import Person

PERSON_COLUMNS = [f.name for f in fields(Person)]


def people_frame(people: Iterable[Person], with_tf: bool = True) -> pd.DataFrame:
    """A frame with ``unique_id`` and every normalised column.

    ``given_nicks`` becomes a list column (a DuckDB ``VARCHAR[]``). Without
    ``with_tf`` the ``tf_*`` columns are dropped, so Splink computes its own.
    """
    rows = [p.as_row() for p in people]
    frame = pd.DataFrame(rows, columns=PERSON_COLUMNS)
    frame["given_nicks"] = [list(v) if v is not None else None for v in frame["given_nicks"]]
    frame.insert(0, "unique_id", frame.pop("record_id").astype(str))
    if not with_tf:
        frame = frame.drop(columns=[c for c in frame.columns if c.startswith("tf_")])
    else:
        for column in ("tf_given_name", "tf_family_name", "tf_postcode"):
            frame[column] = frame[column].astype("float64")
    return frame


def term_frequencies(people: Iterable[Person]) -> dict[str, dict[str, float]]:
    """Splink's term frequencies: count of a value / count of non-null values.

    Example:
        >>> from caldicott.matching.core.normalise import normalise_person as n
        >>> term_frequencies([n("1", "Ann", "Lee", None), n("2", "Bo", "Lee", None)])["family_name"]
        {'lee': 1.0}
    """
    counts: dict[str, dict[str, int]] = {"given_name": {}, "family_name": {}, "postcode": {}}
    for person in people:
        for column, table in counts.items():
            value = getattr(person, column)
            if value is not None:
                table[value] = table.get(value, 0) + 1
    return {column: {v: c / total for v, c in table.items()} if (total := sum(table.values()))
            else {} for column, table in counts.items()}
