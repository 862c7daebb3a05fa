"""A hand-set model: the comparisons with m and u written down, not trained.

For tests and demos that must not wait for Splink to train. Values are of the
size training on synthetic registers gives.
"""

from __future__ import annotations

import json
from typing import Any

from caldicott.matching.training import settings_dict

_M_U: dict[str, list[tuple[float, float]]] = {
    # exact, swapped (neutral), nickname, damerau 1, jw 0.92, jw 0.8, crossed, else
    "given_name": [(0.80, 0.004), (0.002, 0.002), (0.03, 0.001), (0.06, 0.0006),
                   (0.03, 0.0004), (0.03, 0.005), (0.002, 0.0005), (0.046, 0.9875)],
    # exact, swapped, damerau 1, jw 0.92, jw 0.8, crossed, else
    "family_name": [(0.80, 0.003), (0.01, 0.00001), (0.08, 0.0008), (0.03, 0.0003),
                    (0.02, 0.003), (0.002, 0.0005), (0.058, 0.99239)],
    # exact, day/month transposed, damerau 1, one field wrong, else
    "birth_date": [(0.90, 0.0001), (0.02, 0.00001), (0.02, 0.001), (0.03, 0.003),
                   (0.03, 0.99589)],
    # full, sector, district, levenshtein 1, damerau 1 (transposition), else
    "postcode": [(0.60, 0.00003), (0.05, 0.0001), (0.10, 0.0005), (0.01, 0.000003),
                 (0.005, 0.000001), (0.235, 0.999366)],
    "sex": [(0.97, 0.5), (0.03, 0.5)],
}


def handmade_model(prior: float = 1e-5) -> dict[str, Any]:
    """A complete Splink model (settings with m and u) for the matcher's comparisons.

    Example:
        >>> handmade_model()["comparisons"][0]["output_column_name"]
        'given_name'
    """
    model = settings_dict("link_only")
    model["probability_two_random_records_match"] = prior
    for comparison in model["comparisons"]:
        values = iter(_M_U[comparison["output_column_name"]])
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                level["m_probability"], level["u_probability"] = next(values)
    return model


def handmade_model_json(prior: float = 1e-5) -> str:
    return json.dumps(handmade_model(prior), indent=2, sort_keys=True)
