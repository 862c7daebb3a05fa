"""A hand-set model: the comparisons with m and u written down, not trained.

For tests and demos that must not wait for Splink to train. Values are of the
size training on synthetic registers gives.
"""

from __future__ import annotations

import json
from typing import Any

from caldicott.matching.core.stated import STATED_M_U
from caldicott.matching.training import settings_dict


def handmade_model(prior: float = 1e-5) -> dict[str, Any]:
    """A complete Splink model (settings with m and u) for the matcher's comparisons.

    Example:
        >>> handmade_model()["comparisons"][0]["output_column_name"]
        'given_name'
    """
    model = settings_dict("link_only")
    model["probability_two_random_records_match"] = prior
    for comparison in model["comparisons"]:
        values = iter(STATED_M_U[comparison["output_column_name"]])
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                level["m_probability"], level["u_probability"] = next(values)
    return model


def handmade_model_json(prior: float = 1e-5) -> str:
    return json.dumps(handmade_model(prior), indent=2, sort_keys=True)
