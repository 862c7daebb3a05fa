"""Normalised people as data frames, the shape Splink reads.

Every column the model or a blocking rule needs is computed in Python by
:func:`caldicott.matching.core.normalise.normalise_person`; Splink only
compares them. That is what makes the in-process scorer's answer and Splink's
the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import fields
from operator import attrgetter

import pandas as pd

from caldicott.matching.core.normalise import Person

PERSON_COLUMNS = [f.name for f in fields(Person)]


def people_frame(people: Iterable[Person], with_tf: bool = True) -> pd.DataFrame:
    """A frame with ``unique_id`` and every normalised column.

    ``given_nicks`` becomes a list column (a DuckDB ``VARCHAR[]``). Without
    ``with_tf`` the ``tf_*`` columns are dropped, so Splink computes its own.
    """
    row = attrgetter(*PERSON_COLUMNS)  # what ``Person.as_row`` holds, without asdict's copies
    frame = pd.DataFrame([row(p) for p in people], columns=PERSON_COLUMNS)
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
    people = people if isinstance(people, Sequence) else list(people)
    out: dict[str, dict[str, float]] = {}
    for column in ("given_name", "family_name", "postcode"):
        counts = Counter(map(attrgetter(column), people))  # counted in C
        counts.pop(None, None)
        total = sum(counts.values())
        out[column] = {v: c / total for v, c in counts.items()} if total else {}
    return out
